"""Confidence-based performance estimation (CBPE, as NannyML's), without labels.

If the calibrated probability ``p_ik`` really is the chance that image ``i``
belongs to class ``k``, then the expected confusion counts follow: for each
class ``k`` (one-vs-rest), an image predicted ``k`` is a true positive with
probability ``p_ik`` and a false positive with ``1 - p_ik``; an image predicted
otherwise is a false negative with ``p_ik``. Expected accuracy is the mean
calibrated probability of the predicted class. These expectations are only as
good as the calibration *on the current data*: under prior shift or a new
artefact the calibration learnt on the reference set no longer holds, and the
estimate is wrong (see docs/performance.md and bench/performance/results.md).

The interval on expected accuracy is the sampling spread of the realised
accuracy if the calibration held (a Poisson-binomial variance, normal
approximation); it does not cover calibration error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.errors import InputError
from driftloop.performance.calibration import TemperatureCalibrator
from driftloop.performance.metrics import normal_quantile
from driftloop.performance.result import WindowPerformance

__all__ = ["estimate_performance", "expected_scores"]


def expected_scores(calibrated: NDArray[Any]) -> dict[str, Any]:
    """Expected accuracy and per-class precision/recall/F1 from calibrated probabilities."""
    p = np.asarray(calibrated, np.float64)
    n, c = p.shape
    pred = p.argmax(axis=1)
    predicted = np.zeros((n, c), dtype=bool)
    predicted[np.arange(n), pred] = True
    tp = np.where(predicted, p, 0.0).sum(axis=0)
    fp = np.where(predicted, 1.0 - p, 0.0).sum(axis=0)
    fn = np.where(~predicted, p, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    top = p[np.arange(n), pred]
    # Classes with (almost) no expected members would drag the macro mean with noise;
    # NannyML averages over every class, we skip those expected to be absent (< 0.5 images).
    present = (tp + fn) >= 0.5
    return {
        "accuracy": float(top.mean()),
        "accuracy_sd": float(math.sqrt(float((top * (1 - top)).sum())) / n),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "expected_support": tp + fn,
        "macro_precision": float(precision[present].mean()) if present.any() else math.nan,
        "macro_recall": float(np.nanmean(recall[present])) if present.any() else math.nan,
        "macro_f1": float(np.nanmean(f1[present])) if present.any() else math.nan,
    }


def estimate_performance(
    probabilities: NDArray[Any],
    classes: Sequence[str],
    calibrator: TemperatureCalibrator | None,
    *,
    min_predictions: int,
    level: float = 0.95,
) -> WindowPerformance:
    """CBPE of a window's raw model ``probabilities`` (n, C) through ``calibrator``."""
    probs = np.asarray(probabilities, np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise InputError(
            f"probabilities of shape {probs.shape} do not match {len(classes)} classes"
        )
    n = len(probs)
    if calibrator is None:
        return WindowPerformance(
            kind="estimated",
            status="not_calibrated",
            n=n,
            classes=tuple(classes),
            message="the model has no calibration.json; run 'driftloop performance calibrate "
            "--model URI --data REFERENCE_DIR' to enable estimates",
        )
    if tuple(calibrator.classes) != tuple(classes):
        raise InputError(
            f"calibrator classes {list(calibrator.classes)} differ from the window's "
            f"{list(classes)}; refit the calibrator for this model"
        )
    if n < min_predictions:
        return WindowPerformance(
            kind="estimated",
            status="insufficient_predictions",
            n=n,
            classes=tuple(classes),
            message=f"only {n} predictions (minimum {min_predictions}): no estimate",
        )
    s = expected_scores(calibrator.transform(probs))
    half = normal_quantile(level) * s["accuracy_sd"]
    per_class = {
        name: {
            "precision": float(s["precision"][k]),
            "recall": None if math.isnan(s["recall"][k]) else float(s["recall"][k]),
            "f1": None if math.isnan(s["f1"][k]) else float(s["f1"][k]),
            "expected_support": float(s["expected_support"][k]),
        }
        for k, name in enumerate(classes)
    }
    raw_conf = float(probs.max(axis=1).mean())
    return WindowPerformance(
        kind="estimated",
        status="ok",
        n=n,
        classes=tuple(classes),
        metrics={
            "accuracy": s["accuracy"],
            "macro_precision": s["macro_precision"],
            "macro_recall": s["macro_recall"],
            "macro_f1": s["macro_f1"],
        },
        intervals={"accuracy": (max(0.0, s["accuracy"] - half), min(1.0, s["accuracy"] + half))},
        per_class=per_class,
        message=f"CBPE over {n} predictions (temperature {calibrator.temperature:.3f})",
        details={
            "method": "cbpe",
            "calibration": calibrator.method,
            "temperature": calibrator.temperature,
            "ece_before": calibrator.ece_before,
            "ece_after": calibrator.ece_after,
            "n_reference": calibrator.n_reference,
            "mean_confidence_raw": raw_conf,
            "ci_level": level,
            "ci_methods": {"accuracy": "sampling spread if calibrated (normal approx.)"},
        },
    )
