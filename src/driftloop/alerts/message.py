"""What an alert says, independent of the channel that carries it."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Literal

from driftloop.results import DriftResult

__all__ = ["AlertMessage", "DeliveryError", "build_message", "condition_key"]

Kind = Literal["trigger", "resolve", "test"]
TOP_FEATURES = 5


class DeliveryError(Exception):
    """One delivery attempt failed; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclasses.dataclass(frozen=True, slots=True)
class AlertMessage:
    """The content of one alert: a channel renders it, the dispatcher records it."""

    kind: Kind
    severity: str
    title: str
    summary: str
    run_key: str
    dedup_key: str
    logical_date: str | None = None
    report_url: str | None = None
    top_features: tuple[tuple[str, float | None, str], ...] = ()
    n_drifted: int = 0
    n_tests: int = 0
    n_current: int = 0
    n_quarantined: int = 0
    model_version: str | None = None
    baseline_version: str | None = None
    severity_rule: str = ""


def condition_key(channel: str, result: DriftResult) -> str:
    """A stable id for "this channel, this severity, these drifted features".

    Two runs with the same condition get the same key, so the second is
    deduplicated; PagerDuty uses it as ``dedup_key`` so a resolve closes the incident.
    """
    names = ",".join(sorted(f.name for f in result.drifted_features))
    digest = hashlib.sha256(f"{channel}|{result.severity}|{names}".encode()).hexdigest()
    return f"driftloop-{channel}-{digest[:16]}"


def build_message(
    result: DriftResult,
    *,
    kind: Kind,
    run_key: str,
    dedup_key: str,
    report_url: str | None = None,
) -> AlertMessage:
    """Turn a drift result into the message every channel renders."""
    drifted = sorted(
        result.drifted_features, key=lambda f: (f.effect_size is None, -(f.effect_size or 0.0))
    )
    day = result.logical_date or "unknown date"
    if kind == "resolve":
        title = f"[driftloop] RESOLVED: drift cleared on {day}"
        summary = (
            f"Run {run_key}: severity is now {result.severity}; the earlier alert is resolved."
        )
    elif kind == "test":
        title = "[driftloop] TEST alert"
        summary = "A test message from 'driftloop alert test': this channel is configured."
    else:
        names = ", ".join(f.name for f in drifted[:TOP_FEATURES]) or "none"
        title = (
            f"[driftloop] {result.severity.upper()} drift on {day}: "
            f"{len(drifted)} of {len(result.features)} tests drifted"
        )
        summary = f"Drifted: {names}. {result.n_current} images checked."
    return AlertMessage(
        kind=kind,
        severity=result.severity,
        title=title,
        summary=summary,
        run_key=run_key,
        dedup_key=dedup_key,
        logical_date=result.logical_date,
        report_url=report_url,
        top_features=tuple((f.name, f.effect_size, f.test) for f in drifted[:TOP_FEATURES]),
        n_drifted=len(drifted),
        n_tests=len(result.features),
        n_current=result.n_current,
        n_quarantined=result.n_quarantined,
        model_version=result.model_version,
        baseline_version=result.baseline_version,
        severity_rule=result.severity_rule,
    )


def feature_lines(message: AlertMessage) -> list[str]:
    """``name: effect size X (test)`` for each top drifted feature."""
    return [
        f"{name}: effect size {effect:.2f} ({test})" if effect is not None else f"{name} ({test})"
        for name, effect, test in message.top_features
    ]
