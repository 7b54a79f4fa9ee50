"""CBPE: expected metrics from calibrated probabilities, and when it refuses to estimate."""

from __future__ import annotations

import numpy as np
import pytest
from perf_helpers import calibrated_window, identity_calibrator

from driftloop.constants import CLASSES
from driftloop.errors import InputError
from driftloop.performance.cbpe import estimate_performance, expected_scores
from driftloop.performance.metrics import realised_performance


def test_cbpe_on_perfectly_calibrated_probabilities_estimates_accuracy_closely() -> None:
    probs, labels = calibrated_window(5000, seed=11)
    est = estimate_performance(probs, CLASSES, identity_calibrator(), min_predictions=30)
    real = realised_performance(labels, probs, CLASSES, min_labels=30, resamples=50)
    assert est.status == "ok"
    assert est.metrics["accuracy"] == pytest.approx(real.metrics["accuracy"], abs=0.02)
    assert est.metrics["macro_f1"] == pytest.approx(real.metrics["macro_f1"], abs=0.03)
    lo, hi = est.intervals["accuracy"]
    assert lo < real.metrics["accuracy"] < hi


def test_expected_scores_of_a_hand_made_window() -> None:
    # Row 1 predicts class 0 with p=0.8; row 2 predicts class 1 with p=0.6.
    p = np.array([[0.8, 0.2], [0.4, 0.6]])
    s = expected_scores(p)
    assert s["accuracy"] == pytest.approx(0.7)
    # class 0: TP 0.8, FP 0.2, FN 0.4 -> precision 0.8, recall 0.8/1.2
    assert s["precision"][0] == pytest.approx(0.8)
    assert s["recall"][0] == pytest.approx(0.8 / 1.2)
    assert s["f1"][0] == pytest.approx(1.6 / (1.6 + 0.2 + 0.4))


def test_without_a_calibrator_there_is_no_estimate() -> None:
    probs, _ = calibrated_window(100, seed=1)
    est = estimate_performance(probs, CLASSES, None, min_predictions=30)
    assert est.status == "not_calibrated" and dict(est.metrics) == {}
    assert "performance calibrate" in est.message


def test_too_few_predictions_give_no_estimate() -> None:
    probs, _ = calibrated_window(10, seed=1)
    est = estimate_performance(probs, CLASSES, identity_calibrator(), min_predictions=30)
    assert est.status == "insufficient_predictions" and est.value("accuracy") is None


def test_calibrator_for_other_classes_is_refused() -> None:
    probs, _ = calibrated_window(40, seed=1)
    with pytest.raises(InputError, match="calibrator classes"):
        estimate_performance(probs, ("a", "b", "c", "d"), identity_calibrator(), min_predictions=1)


def test_the_estimate_reports_its_calibration() -> None:
    probs, _ = calibrated_window(200, seed=2)
    est = estimate_performance(probs, CLASSES, identity_calibrator(), min_predictions=30)
    assert est.details["temperature"] == 1.0 and est.details["method"] == "cbpe"
    assert est.details["mean_confidence_raw"] == pytest.approx(probs.max(1).mean())
