"""Thresholds, the severity rule of apply_performance, and the alert it leads to."""

from __future__ import annotations

import dataclasses

import pytest

from driftloop.config import PerformanceSettings, Settings, load_settings
from driftloop.constants import CLASSES
from driftloop.performance.result import PerformanceCheck, WindowPerformance
from driftloop.performance.thresholds import apply_performance, check_thresholds
from driftloop.results import DriftResult, FeatureDrift

REFERENCE = {"accuracy": 0.90, "macro_f1": 0.88, "macro_auc": 0.97}


def window(
    kind: str, accuracy: float, macro_f1: float = 0.9, status: str = "ok"
) -> WindowPerformance:
    metrics = {"accuracy": accuracy, "macro_f1": macro_f1} if status == "ok" else {}
    return WindowPerformance(kind=kind, status=status, n=100, classes=CLASSES, metrics=metrics)  # type: ignore[arg-type]


def check(
    realised: WindowPerformance | None, estimated: WindowPerformance | None
) -> PerformanceCheck:
    cfg = PerformanceSettings()
    checks = []
    for perf in (realised, estimated):
        if perf is not None:
            checks += check_thresholds(perf, REFERENCE, cfg)
    return PerformanceCheck("2026-11-05", realised, estimated, tuple(checks), REFERENCE)


def drift(severity: str = "none") -> DriftResult:
    return DriftResult(
        drift_detected=severity not in ("none", "insufficient_data"),
        severity=severity,  # type: ignore[arg-type]
        severity_rule="drift rule",
        n_reference=500,
        n_current=40,
        features=(FeatureDrift("brightness_mean", "ks", 0.1, 0.5, 0.05, False),),
        logical_date="2026-11-05",
    )


def test_value_below_the_minimum_is_a_breach() -> None:
    checks = check_thresholds(window("realised", 0.69), {}, PerformanceSettings())
    acc = [c for c in checks if c.metric == "accuracy"]
    assert [(c.rule, c.breached, c.limit) for c in acc] == [("minimum", True, 0.7)]


def test_drop_beyond_tolerance_from_reference_is_a_breach() -> None:
    # 0.90 reference - 0.05 tolerance = 0.85; 0.84 is above the 0.7 minimum but breaches the drop.
    checks = check_thresholds(window("realised", 0.84), REFERENCE, PerformanceSettings())
    by_rule = {(c.metric, c.rule): c for c in checks}
    assert by_rule[("accuracy", "max_drop")].breached
    assert by_rule[("accuracy", "max_drop")].limit == pytest.approx(0.85)
    assert not by_rule[("accuracy", "minimum")].breached


def test_drop_within_tolerance_is_not_a_breach() -> None:
    checks = check_thresholds(window("realised", 0.86), REFERENCE, PerformanceSettings())
    assert not any(c.breached for c in checks)


def test_insufficient_labels_are_never_checked() -> None:
    perf = window("realised", 0.0, status="insufficient_labels")
    assert check_thresholds(perf, REFERENCE, PerformanceSettings()) == []


def test_realised_breach_raises_severity_to_high() -> None:
    out = apply_performance(drift("low"), check(window("realised", 0.6), window("estimated", 0.9)))
    assert out.severity == "high"
    assert "realised accuracy 0.600" in out.severity_rule
    rows = [f for f in out.features if f.group == "performance"]
    assert {f.name for f in rows if f.drifted} == {"realised_accuracy"}
    assert out.details["performance"]["breached"] is True
    assert out.details["performance"]["severity_before"] == "low"
    assert out.features[0].name == "brightness_mean"


def test_estimated_only_breach_raises_severity_to_medium() -> None:
    out = apply_performance(drift("none"), check(None, window("estimated", 0.6)))
    assert out.severity == "medium"


def test_breach_raises_severity_even_with_insufficient_drift_data() -> None:
    out = apply_performance(drift("insufficient_data"), check(window("realised", 0.5), None))
    assert out.severity == "high"


def test_severity_is_never_lowered() -> None:
    out = apply_performance(drift("high"), check(None, window("estimated", 0.6)))
    assert out.severity == "high"


def test_no_breach_keeps_severity_but_records_performance() -> None:
    before = drift("low")
    out = apply_performance(before, check(window("realised", 0.9), window("estimated", 0.9)))
    assert out.severity == "low" and out.severity_rule == before.severity_rule
    assert out.details["performance"]["breached"] is False
    assert not any(f.drifted for f in out.features if f.group == "performance")


def test_apply_twice_equals_apply_once() -> None:
    perf = check(window("realised", 0.6), None)
    once = apply_performance(drift("low"), perf)
    twice = apply_performance(once, perf)
    assert twice == once
    # A later, better measurement of the same run lowers back to the drift-only severity.
    healed = apply_performance(once, check(window("realised", 0.9), None))
    assert healed.severity == "low" and healed.severity_rule == "drift rule"


def test_result_with_performance_survives_json() -> None:
    out = apply_performance(drift("low"), check(window("realised", 0.6), None))
    back = DriftResult.from_json(out.to_json())
    assert back.severity == "high" and back.details["performance"]["checks"]
    assert PerformanceCheck.from_dict(back.details["performance"]).breached("realised")


def test_none_leaves_the_result_unchanged() -> None:
    before = drift("low")
    assert apply_performance(before, None) is before


def test_degradation_beyond_tolerance_sends_an_alert_to_the_local_receiver(
    settings: Settings, db: object, webhook_receiver: object
) -> None:
    from driftloop.alerts import dispatch

    cfg = load_settings(
        environ={},
        home=str(settings.home),
        alerts={"webhook": {"url": webhook_receiver.url, "min_severity": "high"}},  # type: ignore[attr-defined]
    )
    quiet = drift("low")
    assert all(o.outcome != "sent" for o in dispatch(quiet, cfg, db, run_key="2026-11-05"))  # type: ignore[arg-type]
    assert webhook_receiver.bodies == []  # type: ignore[attr-defined]

    raised = apply_performance(quiet, check(window("realised", 0.80), None))
    assert raised.severity == "high"
    outcomes = dispatch(raised, cfg, db, run_key="2026-11-05")  # type: ignore[arg-type]
    assert [o.outcome for o in outcomes] == ["sent"]
    (body,) = webhook_receiver.bodies  # type: ignore[attr-defined]
    assert body["severity"] == "high"
    assert "realised_accuracy" in {f["name"] for f in body["top_features"]}
    assert "performance breach" in body["severity_rule"]


def test_severity_levels_come_from_settings() -> None:
    cfg = dataclasses.replace(check(window("realised", 0.6), None), realised_severity="medium")
    assert apply_performance(drift("none"), cfg).severity == "medium"


def _window(kind: str, value: float, interval: tuple[float, float] | None) -> WindowPerformance:
    return WindowPerformance(
        kind=kind,  # type: ignore[arg-type]
        status="ok",
        n=40,
        classes=tuple(CLASSES),
        metrics={"accuracy": value, "macro_f1": value},
        intervals={"accuracy": interval} if interval else {},
    )


def test_a_drop_inside_the_confidence_interval_is_not_a_breach() -> None:
    # 32 of 40 right: 0.80 with Wilson interval about [0.65, 0.90]; limit 0.85 - 0.05.
    settings = PerformanceSettings(minimums={})
    checks = check_thresholds(_window("realised", 0.79, (0.65, 0.90)), {"accuracy": 0.85}, settings)
    accuracy = next(c for c in checks if c.metric == "accuracy")
    assert accuracy.value < accuracy.limit and not accuracy.breached


def test_a_drop_with_the_whole_interval_below_the_limit_is_a_breach() -> None:
    settings = PerformanceSettings(minimums={})
    checks = check_thresholds(_window("realised", 0.60, (0.55, 0.66)), {"accuracy": 0.85}, settings)
    assert next(c for c in checks if c.metric == "accuracy").breached


def test_estimated_metrics_without_an_interval_are_not_checked_for_a_drop() -> None:
    settings = PerformanceSettings(minimums={})
    checks = check_thresholds(
        _window("estimated", 0.50, (0.45, 0.55)), {"accuracy": 0.85, "macro_f1": 0.85}, settings
    )
    assert [c.metric for c in checks if c.rule == "max_drop"] == ["accuracy"]
