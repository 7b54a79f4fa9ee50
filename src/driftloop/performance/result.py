"""Performance results as data: frozen, typed, JSON both ways.

:class:`WindowPerformance` is one kind (``realised`` from labels, ``estimated``
without them) for one window; :class:`Breach` is one threshold a metric
crossed; :class:`PerformanceCheck` bundles both kinds, the model's reference
metrics and the breaches, and is what :func:`~driftloop.performance.apply_performance`
folds into a :class:`~driftloop.results.DriftResult`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from driftloop.results import json_safe

__all__ = ["Breach", "PerformanceCheck", "WindowPerformance"]

Kind = Literal["realised", "estimated"]
# ok: numbers are real; insufficient_labels / insufficient_predictions: too few rows to
# trust, so no numbers at all; not_calibrated: no calibrator for the model, no estimate.
Status = Literal["ok", "insufficient_labels", "insufficient_predictions", "not_calibrated"]


@dataclasses.dataclass(frozen=True, slots=True)
class WindowPerformance:
    """Realised or estimated performance of one window; no numbers unless ``status == "ok"``."""

    kind: Kind
    status: Status
    n: int
    classes: tuple[str, ...]
    metrics: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
    intervals: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    per_class: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    confusion_matrix: tuple[tuple[int, ...], ...] = ()
    message: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def value(self, metric: str) -> float | None:
        """The metric's value, or None when absent or not a number."""
        raw = self.metrics.get(metric)
        return None if raw is None or not math.isfinite(raw) else float(raw)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["classes"] = list(self.classes)
        data["metrics"] = dict(self.metrics)
        data["intervals"] = {k: list(v) for k, v in self.intervals.items()}
        data["per_class"] = {k: dict(v) for k, v in self.per_class.items()}
        data["confusion_matrix"] = [list(r) for r in self.confusion_matrix]
        data["details"] = dict(self.details)
        return dict(json_safe(data))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowPerformance:
        return cls(
            kind=data["kind"],
            status=data["status"],
            n=int(data["n"]),
            classes=tuple(data.get("classes", ())),
            metrics=dict(data.get("metrics") or {}),
            intervals={
                k: (float(v[0]), float(v[1])) for k, v in (data.get("intervals") or {}).items()
            },
            per_class={k: dict(v) for k, v in (data.get("per_class") or {}).items()},
            confusion_matrix=tuple(
                tuple(int(x) for x in r) for r in data.get("confusion_matrix", ())
            ),
            message=str(data.get("message", "")),
            details=dict(data.get("details") or {}),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Breach:
    """One metric of one kind that crossed a threshold (or was checked and did not)."""

    kind: Kind
    metric: str
    rule: Literal["minimum", "max_drop"]
    value: float
    limit: float
    breached: bool
    reference: float | None = None

    def describe(self) -> str:
        if self.rule == "minimum":
            return f"{self.kind} {self.metric} {self.value:.3f} < minimum {self.limit:.3f}"
        return (
            f"{self.kind} {self.metric} {self.value:.3f} < {self.limit:.3f} "
            f"(reference {self.reference:.3f} minus max drop)"
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(json_safe(dataclasses.asdict(self)))


@dataclasses.dataclass(frozen=True, slots=True)
class PerformanceCheck:
    """Both kinds of performance for one window, checked against the thresholds."""

    logical_date: str
    realised: WindowPerformance | None
    estimated: WindowPerformance | None
    checks: tuple[Breach, ...] = ()
    reference: Mapping[str, float] = dataclasses.field(default_factory=dict)
    model_version: str | None = None
    realised_severity: str = "high"
    estimated_severity: str = "medium"
    source: str = ""

    @property
    def breaches(self) -> list[Breach]:
        return [c for c in self.checks if c.breached]

    def breached(self, kind: Kind) -> bool:
        return any(c.kind == kind for c in self.breaches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical_date": self.logical_date,
            "realised": None if self.realised is None else self.realised.to_dict(),
            "estimated": None if self.estimated is None else self.estimated.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "reference": json_safe(dict(self.reference)),
            "model_version": self.model_version,
            "realised_severity": self.realised_severity,
            "estimated_severity": self.estimated_severity,
            "source": self.source,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformanceCheck:
        def window(raw: Any) -> WindowPerformance | None:
            return None if raw is None else WindowPerformance.from_dict(raw)

        checks: Sequence[Mapping[str, Any]] = data.get("checks") or []
        return cls(
            logical_date=str(data["logical_date"]),
            realised=window(data.get("realised")),
            estimated=window(data.get("estimated")),
            checks=tuple(Breach(**c) for c in checks),
            reference=dict(data.get("reference") or {}),
            model_version=data.get("model_version"),
            realised_severity=str(data.get("realised_severity", "high")),
            estimated_severity=str(data.get("estimated_severity", "medium")),
            source=str(data.get("source", "")),
        )

    @classmethod
    def from_json(cls, text: str) -> PerformanceCheck:
        return cls.from_dict(json.loads(text))
