"""driftloop.performance: model performance, realised from labels and estimated without them.

Realised: accuracy, macro precision/recall/F1, macro one-vs-rest AUC, per-class
recall and the confusion matrix of a window's labelled images, with intervals.
Estimated: CBPE from temperature-calibrated confidences. Thresholds raise the
run's severity through :func:`apply_performance`. Names load on first use, so
``driftloop --help`` does not pay for NumPy, SciPy or SQLAlchemy here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftloop.performance.calibration import (
        TemperatureCalibrator,
        calibrate_model,
        expected_calibration_error,
        fit_temperature,
        load_calibrator,
        save_calibrator,
    )
    from driftloop.performance.cbpe import estimate_performance
    from driftloop.performance.metrics import realised_performance, wilson_interval
    from driftloop.performance.report import performance_section_html
    from driftloop.performance.result import Breach, PerformanceCheck, WindowPerformance
    from driftloop.performance.step import (
        evaluate_window,
        load_check,
        performance_history,
        step_performance,
    )
    from driftloop.performance.thresholds import apply_performance, check_thresholds

_WHERE = {
    "Breach": "result",
    "PerformanceCheck": "result",
    "TemperatureCalibrator": "calibration",
    "WindowPerformance": "result",
    "apply_performance": "thresholds",
    "calibrate_model": "calibration",
    "check_thresholds": "thresholds",
    "estimate_performance": "cbpe",
    "evaluate_window": "step",
    "expected_calibration_error": "calibration",
    "fit_temperature": "calibration",
    "load_calibrator": "calibration",
    "load_check": "step",
    "performance_history": "step",
    "performance_section_html": "report",
    "realised_performance": "metrics",
    "save_calibrator": "calibration",
    "step_performance": "step",
    "wilson_interval": "metrics",
}

__all__ = [
    "Breach",
    "PerformanceCheck",
    "TemperatureCalibrator",
    "WindowPerformance",
    "apply_performance",
    "calibrate_model",
    "check_thresholds",
    "estimate_performance",
    "evaluate_window",
    "expected_calibration_error",
    "fit_temperature",
    "load_calibrator",
    "load_check",
    "performance_history",
    "performance_section_html",
    "realised_performance",
    "save_calibrator",
    "step_performance",
    "wilson_interval",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'driftloop.performance' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"driftloop.performance.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
