"""Realised metrics: textbook values, intervals, and no numbers below the label minimum."""

from __future__ import annotations

import numpy as np
import pytest

from driftloop.constants import CLASSES
from driftloop.errors import InputError
from driftloop.performance.metrics import (
    confusion,
    macro_auc,
    realised_performance,
    scores_from_confusion,
    wilson_interval,
)

# rows = true class, columns = predicted; 100 images.
CM = np.array(
    [
        [20, 3, 1, 1],  # glioma: 25
        [2, 18, 3, 2],  # meningioma: 25
        [0, 1, 22, 2],  # notumor: 25
        [1, 0, 2, 22],  # pituitary: 25
    ]
)


def window_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities whose argmax reproduces ``cm`` exactly."""
    y_true, y_pred = [], []
    for t in range(cm.shape[0]):
        for p in range(cm.shape[1]):
            y_true += [t] * int(cm[t, p])
            y_pred += [p] * int(cm[t, p])
    probs = np.full((len(y_pred), cm.shape[1]), 0.1)
    probs[np.arange(len(y_pred)), y_pred] = 0.7
    return np.array(y_true), probs


def test_fixed_confusion_matrix_gives_textbook_metrics() -> None:
    y, probs = window_from_confusion(CM)
    perf = realised_performance(y, probs, CLASSES, min_labels=30, resamples=100)
    assert perf.status == "ok" and perf.n == 100
    assert [list(r) for r in perf.confusion_matrix] == CM.tolist()
    # accuracy = trace / total = 82 / 100
    assert perf.metrics["accuracy"] == pytest.approx(0.82)
    # precision_k = TP / column sum; recall_k = TP / row sum; F1 = 2PR / (P + R)
    precision = [20 / 23, 18 / 22, 22 / 28, 22 / 27]
    recall = [20 / 25, 18 / 25, 22 / 25, 22 / 25]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall, strict=True)]
    assert perf.metrics["macro_precision"] == pytest.approx(np.mean(precision))
    assert perf.metrics["macro_recall"] == pytest.approx(np.mean(recall))
    assert perf.metrics["macro_f1"] == pytest.approx(np.mean(f1))
    for k, name in enumerate(CLASSES):
        assert perf.per_class[name]["recall"] == pytest.approx(recall[k])
        assert perf.per_class[name]["support"] == 25


def test_metrics_agree_with_sklearn() -> None:
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), 300)
    y = rng.integers(0, 4, 300)
    perf = realised_performance(y, probs, CLASSES, min_labels=30, resamples=50)
    pred = probs.argmax(1)
    assert perf.metrics["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert perf.metrics["macro_precision"] == pytest.approx(
        precision_score(y, pred, average="macro", zero_division=0)
    )
    assert perf.metrics["macro_recall"] == pytest.approx(recall_score(y, pred, average="macro"))
    assert perf.metrics["macro_auc"] == pytest.approx(
        roc_auc_score(y, probs, multi_class="ovr", average="macro")
    )


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (50, 100, 0.4038, 0.5962),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n, 0.95)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize(("k", "n"), [(1, 0), (-1, 10), (11, 10)])
def test_wilson_interval_rejects_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(InputError, match=f"n={n}"):
        wilson_interval(k, n)


def test_fewer_labels_than_minimum_gives_insufficient_labels_not_a_number() -> None:
    y, probs = window_from_confusion(CM)
    perf = realised_performance(y[:29], probs[:29], CLASSES, min_labels=30)
    assert perf.status == "insufficient_labels"
    assert perf.n == 29
    assert dict(perf.metrics) == {} and dict(perf.intervals) == {}
    assert perf.value("accuracy") is None
    assert "29" in perf.message and "30" in perf.message
    data = perf.to_dict()
    assert data["metrics"] == {} and data["confusion_matrix"] == []


def test_exactly_the_minimum_gives_numbers() -> None:
    y, probs = window_from_confusion(CM)
    perf = realised_performance(y[:30], probs[:30], CLASSES, min_labels=30, resamples=50)
    assert perf.status == "ok" and perf.value("accuracy") is not None


def test_macro_auc_uses_only_classes_present_and_says_which() -> None:
    # No pituitary in the window: its one-vs-rest AUC is undefined, so it is left out.
    y = np.array([0, 0, 1, 1, 2, 2] * 10)
    probs = np.full((len(y), 4), 0.05)
    probs[np.arange(len(y)), y] = 0.85  # a perfect ranking
    perf = realised_performance(y, probs, CLASSES, min_labels=30, resamples=50)
    assert perf.metrics["macro_auc"] == pytest.approx(1.0)
    assert perf.details["auc_classes"] == ["glioma", "meningioma", "notumor"]
    assert perf.per_class["pituitary"]["recall"] is None
    assert perf.details["macro_over"] == ["glioma", "meningioma", "notumor"]


def test_macro_auc_is_half_for_uninformative_scores() -> None:
    y = np.array([0, 1] * 50)
    probs = np.full((100, 2), 0.5)
    auc, used = macro_auc(y, probs)
    assert auc == pytest.approx(0.5) and used == [0, 1]


def test_intervals_contain_the_point_and_are_reproducible() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4) * 0.5, 200)
    y = np.where(rng.random(200) < 0.7, probs.argmax(1), rng.integers(0, 4, 200))
    a = realised_performance(y, probs, CLASSES, min_labels=30, resamples=200, seed=5)
    b = realised_performance(y, probs, CLASSES, min_labels=30, resamples=200, seed=5)
    assert a.intervals == b.intervals
    for metric in ("accuracy", "macro_f1", "macro_auc"):
        lo, hi = a.intervals[metric]
        assert lo <= a.metrics[metric] <= hi and hi - lo < 0.3
    assert a.per_class["glioma"]["recall_interval"][0] <= a.per_class["glioma"]["recall"]


def test_mismatched_probabilities_are_rejected_with_their_shape() -> None:
    with pytest.raises(InputError, match=r"\(5, 3\)"):
        realised_performance(np.zeros(5, int), np.zeros((5, 3)), CLASSES, min_labels=1)


def test_labels_outside_the_classes_are_rejected() -> None:
    with pytest.raises(InputError, match="class indices 0..3"):
        realised_performance(np.array([0, 7]), np.full((2, 4), 0.25), CLASSES, min_labels=1)


def test_present_class_never_predicted_has_zero_precision() -> None:
    cm = np.array([[5, 0], [5, 0]])
    s = scores_from_confusion(cm)
    assert s["precision"][1] == 0.0 and s["macro_precision"] == pytest.approx(0.25)
    assert confusion(np.array([0, 1]), np.array([1, 1]), 2).tolist() == [[0, 1], [0, 1]]
