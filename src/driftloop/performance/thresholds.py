"""Performance thresholds, and folding a breach into the run's DriftResult.

Two rules per metric, on the point value (its interval is stored beside it):

* minimum: ``value < performance.minimums[metric]``;
* max drop: ``value < reference - performance.max_drop``, where the reference
  is the model's own metric in its ``metrics.json``.

Severity rule (:func:`apply_performance`): a realised breach raises the run's
severity to at least ``performance.realised_severity`` (default high); a breach
of the estimate alone raises it to at least ``performance.estimated_severity``
(default medium), because an estimate can be wrong exactly when the inputs
drift. Severity is never lowered. The breaches become ``FeatureDrift`` rows of
group ``performance``, so alerts, dedupe and reports carry them unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from driftloop.config import PerformanceSettings
from driftloop.performance.result import Breach, PerformanceCheck, WindowPerformance
from driftloop.results import SEVERITY_ORDER, DriftResult, FeatureDrift

__all__ = ["apply_performance", "check_thresholds"]


def _bound(perf: WindowPerformance, metric: str, value: float) -> float:
    """What is compared with a limit: the interval's upper end when there is one.

    A day has tens of labels, not thousands: with 40 of them an accuracy of 0.80
    is anything from 0.65 to 0.90. A threshold is breached only when the whole
    interval lies below it, so sampling noise does not page anyone.
    """
    interval = perf.intervals.get(metric)
    return float(interval[1]) if interval else value


def check_thresholds(
    perf: WindowPerformance,
    reference: Mapping[str, Any],
    settings: PerformanceSettings,
) -> list[Breach]:
    """Every (metric, rule) check that applies to ``perf``; ``breached`` says which failed.

    A breach needs the metric's confidence interval entirely below the limit
    (see :func:`_bound`). Estimated metrics without an interval are checked
    against the absolute minimums only: their drop from the reference could be
    the estimator's bias as much as the model's.
    """
    if not perf.ok:
        return []
    checks: list[Breach] = []
    for metric, minimum in sorted(settings.minimums.items()):
        value = perf.value(metric)
        if value is not None:
            below = _bound(perf, metric, value) < minimum
            checks.append(Breach(perf.kind, metric, "minimum", value, minimum, below))
    for metric in sorted(perf.metrics):
        value = perf.value(metric)
        ref = reference.get(metric)
        if value is None or not isinstance(ref, int | float) or isinstance(ref, bool):
            continue
        if perf.kind == "estimated" and metric not in perf.intervals:
            continue
        limit = float(ref) - settings.max_drop
        below = _bound(perf, metric, value) < limit
        checks.append(Breach(perf.kind, metric, "max_drop", value, limit, below, float(ref)))
    return checks


def _rows(check: PerformanceCheck) -> list[FeatureDrift]:
    rows = []
    for c in check.checks:
        shortfall = c.limit - c.value
        rows.append(
            FeatureDrift(
                name=f"{c.kind}_{c.metric}",
                test=f"performance_{c.rule}",
                statistic=c.value,
                p_value=None,
                threshold=c.limit,
                drifted=c.breached,
                effect_size=shortfall if c.breached else None,
                kind="numerical",
                group="performance",
            )
        )
    return rows


def apply_performance(result: DriftResult, perf: PerformanceCheck | None) -> DriftResult:
    """A new DriftResult with performance rows, raised severity and ``details["performance"]``.

    Applying twice gives the same result as applying once: earlier performance
    rows are replaced and the severity is raised from the drift-only value.
    """
    if perf is None:
        return result
    previous = result.details.get("performance")
    base_severity = (
        str(previous["severity_before"])
        if isinstance(previous, Mapping) and "severity_before" in previous
        else result.severity
    )
    severity = base_severity
    raised_by: list[str] = []
    for kind, level in (
        ("realised", perf.realised_severity),
        ("estimated", perf.estimated_severity),
    ):
        if perf.breached(kind):  # type: ignore[arg-type]
            raised_by += [b.describe() for b in perf.breaches if b.kind == kind]
            if SEVERITY_ORDER[level] > SEVERITY_ORDER[severity]:
                severity = level
    rule = result.severity_rule
    if isinstance(previous, Mapping) and previous.get("rule_suffix"):
        rule = rule.removesuffix(str(previous["rule_suffix"]))
    suffix = ""
    if raised_by:
        suffix = (
            f"; performance breach ({'; '.join(raised_by)}): realised -> at least "
            f"{perf.realised_severity}, estimated only -> at least {perf.estimated_severity}"
        )
    features = tuple(f for f in result.features if f.group != "performance") + tuple(_rows(perf))
    block = {
        **perf.to_dict(),
        "breached": bool(perf.breaches),
        "severity_before": base_severity,
        "severity_after": severity,
        "rule_suffix": suffix,
    }
    return dataclasses.replace(
        result,
        severity=severity,  # type: ignore[arg-type]
        severity_rule=rule + suffix,
        features=features,
        details={**result.details, "performance": block},
    )
