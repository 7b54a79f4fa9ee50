"""Realised performance from labels, with confidence intervals.

Accuracy and per-class recall are binomial proportions: Wilson score
intervals (good at small n and near 0 or 1, unlike the normal approximation).
Macro F1 and macro AUC are not proportions: percentile bootstrap over images,
with a fixed seed and a bounded number of resamples so reruns agree.

Macro averages run over the classes present among the true labels (a class
with no true example has no recall). Macro AUC is one-vs-rest over the
classes that have both positive and negative examples in the window; the
result lists them in ``details["auc_classes"]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.errors import InputError
from driftloop.performance.result import WindowPerformance

__all__ = [
    "bootstrap_interval",
    "confusion",
    "macro_auc",
    "realised_performance",
    "scores_from_confusion",
    "wilson_interval",
]


def normal_quantile(level: float) -> float:
    """The two-sided standard-normal quantile for a confidence ``level`` (1.96 at 0.95)."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` trials."""
    if n <= 0:
        raise InputError(f"a Wilson interval needs at least one trial, got n={n}")
    if not 0 <= successes <= n:
        raise InputError(f"successes={successes} must lie between 0 and n={n}")
    z = normal_quantile(level)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def confusion(y_true: NDArray[Any], y_pred: NDArray[Any], n_classes: int) -> NDArray[np.int64]:
    """Confusion matrix: rows = true class, columns = predicted class."""
    flat = np.asarray(y_true, np.int64) * n_classes + np.asarray(y_pred, np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def scores_from_confusion(cm: NDArray[Any]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1 and their macro means over present classes.

    A class that is present but never predicted has precision 0 (as sklearn's
    ``zero_division=0``), so the macro precision is not flattered by silence.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = np.where(support > 0, 2 * tp / (support + predicted), np.nan)
    present = support > 0
    n = cm.sum()
    return {
        "accuracy": float(tp.sum() / n) if n else math.nan,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(np.int64),
        "macro_precision": float(precision[present].mean()) if present.any() else math.nan,
        "macro_recall": float(recall[present].mean()) if present.any() else math.nan,
        "macro_f1": float(f1[present].mean()) if present.any() else math.nan,
    }


def _auc_one(positive: NDArray[np.bool_], scores: NDArray[Any]) -> float:
    """Mann-Whitney AUC with average ranks for ties."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(y_true: NDArray[Any], probabilities: NDArray[Any]) -> tuple[float, list[int]]:
    """One-vs-rest AUC averaged over classes with both positives and negatives."""
    aucs, used = [], []
    for k in range(probabilities.shape[1]):
        positive = y_true == k
        if positive.any() and not positive.all():
            aucs.append(_auc_one(positive, probabilities[:, k]))
            used.append(k)
    return (float(np.mean(aucs)) if aucs else math.nan), used


def bootstrap_interval(
    y_true: NDArray[Any],
    probabilities: NDArray[Any],
    *,
    resamples: int,
    level: float,
    seed: int,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of macro F1 and macro AUC, resampling images."""
    if resamples < 1:
        raise InputError(f"bootstrap resamples must be at least 1, got {resamples}")
    rng = np.random.default_rng(seed)
    n, c = probabilities.shape
    y_pred = probabilities.argmax(axis=1)
    f1s, aucs = [], []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        yt = y_true[idx]
        f1s.append(scores_from_confusion(confusion(yt, y_pred[idx], c))["macro_f1"])
        auc, _used = macro_auc(yt, probabilities[idx])
        aucs.append(auc)
    tail = (1 - level) / 2 * 100
    out: dict[str, tuple[float, float]] = {}
    for name, values in (("macro_f1", f1s), ("macro_auc", aucs)):
        arr = np.asarray(values, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        if len(arr):
            lo, hi = np.percentile(arr, [tail, 100 - tail])
            out[name] = (float(lo), float(hi))
    return out


def realised_performance(
    y_true: Sequence[int] | NDArray[Any],
    probabilities: NDArray[Any],
    classes: Sequence[str],
    *,
    min_labels: int,
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> WindowPerformance:
    """Realised metrics of ``probabilities`` (n, C) against true class indices ``y_true``.

    Below ``min_labels`` the result has status ``insufficient_labels`` and no
    numbers: a window of five labels gives an accuracy that only looks real.
    """
    y = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probabilities, dtype=np.float64)
    c = len(classes)
    if probs.ndim != 2 or probs.shape != (len(y), c):
        raise InputError(
            f"probabilities of shape {probs.shape} do not match {len(y)} labels and {c} classes"
        )
    if len(y) and (y.min() < 0 or y.max() >= c):
        raise InputError(f"labels must be class indices 0..{c - 1}, got {sorted(set(y.tolist()))}")
    if len(y) < min_labels:
        return WindowPerformance(
            kind="realised",
            status="insufficient_labels",
            n=len(y),
            classes=tuple(classes),
            message=f"only {len(y)} labelled images (minimum {min_labels}): no realised metrics",
        )
    y_pred = probs.argmax(axis=1)
    cm = confusion(y, y_pred, c)
    s = scores_from_confusion(cm)
    auc, auc_used = macro_auc(y, probs)
    correct = int(np.trace(cm))
    intervals: dict[str, tuple[float, float]] = {
        "accuracy": wilson_interval(correct, len(y), level)
    }
    intervals.update(bootstrap_interval(y, probs, resamples=resamples, level=level, seed=seed))
    per_class: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(classes):
        support = int(s["support"][k])
        entry: dict[str, Any] = {
            "precision": float(s["precision"][k]),
            "recall": None if support == 0 else float(s["recall"][k]),
            "f1": None if support == 0 else float(s["f1"][k]),
            "support": support,
            "recall_interval": None
            if support == 0
            else list(wilson_interval(int(cm[k, k]), support, level)),
        }
        per_class[name] = entry
    return WindowPerformance(
        kind="realised",
        status="ok",
        n=len(y),
        classes=tuple(classes),
        metrics={
            "accuracy": s["accuracy"],
            "macro_precision": s["macro_precision"],
            "macro_recall": s["macro_recall"],
            "macro_f1": s["macro_f1"],
            "macro_auc": auc if auc_used else None,
        },
        intervals=intervals,
        per_class=per_class,
        confusion_matrix=tuple(tuple(int(x) for x in row) for row in cm),
        message=f"{len(y)} labelled images",
        details={
            "auc_classes": [classes[k] for k in auc_used],
            "macro_over": [classes[k] for k in range(c) if s["support"][k] > 0],
            "ci_level": level,
            "ci_methods": {
                "accuracy": "wilson",
                "recall": "wilson",
                "macro_f1": f"percentile bootstrap, {resamples} resamples, seed {seed}",
                "macro_auc": f"percentile bootstrap, {resamples} resamples, seed {seed}",
            },
        },
    )
