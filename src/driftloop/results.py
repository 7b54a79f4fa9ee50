"""Decisions as data: frozen, typed results that are stored, shown and exchanged as JSON.

:class:`DriftResult` is what the drift engine decides for one run;
:class:`GateDecision` is what the promotion gate decides for one candidate model
(promotion reads it, never a bare bool — as TFX's blessing).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["DriftResult", "FeatureDrift", "GateDecision", "json_safe"]

SeverityLevel = Literal["none", "low", "medium", "high", "insufficient_data"]
SEVERITY_ORDER: dict[str, int] = {
    "insufficient_data": -1,
    "none": 0,
    "low": 1,
    "medium": 2,
    "high": 3,
}


def json_safe(value: Any) -> Any:
    """JSON cannot hold NaN/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One statistical test on one feature (or one model output)."""

    name: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    effect_size: float | None = None
    kind: Literal["numerical", "categorical"] = "numerical"
    group: Literal["image", "model", "embedding", "performance"] = "image"
    p_adjusted: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(json_safe(dataclasses.asdict(self)))


@dataclasses.dataclass(frozen=True, slots=True)
class DriftResult:
    """The drift engine's decision for one run."""

    drift_detected: bool
    severity: SeverityLevel
    severity_rule: str
    n_reference: int
    n_current: int
    n_quarantined: int = 0
    features: tuple[FeatureDrift, ...] = ()
    correction: str = "bonferroni"
    alpha: float = 0.05
    baseline_version: str | None = None
    model_version: str | None = None
    logical_date: str | None = None
    created_at: str | None = None
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def drifted_features(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def severity_rank(self) -> int:
        return SEVERITY_ORDER[self.severity]

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["features"] = [f.to_dict() for f in self.features]
        data["details"] = dict(self.details)
        return dict(json_safe(data))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftResult:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["features"] = tuple(FeatureDrift(**row) for row in data.get("features", []))
        kwargs["details"] = dict(data.get("details") or {})
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> DriftResult:
        return cls.from_dict(json.loads(text))


@dataclasses.dataclass(frozen=True, slots=True)
class GateDecision:
    """Whether a candidate model may be promoted, and the numbers behind it."""

    promote: bool
    reasons: tuple[str, ...]
    candidate_version: str | None
    champion_version: str | None
    candidate_auc: float | None
    champion_auc: float | None
    metric_min: float
    metric_drop_tol: float
    evaluated_on: str | None = None
    decided_at: str | None = None

    @property
    def status(self) -> str:
        return "BLESSED" if self.promote else "NOT_BLESSED"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["reasons"] = list(self.reasons)
        data["status"] = self.status
        return dict(json_safe(data))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateDecision:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["reasons"] = tuple(data.get("reasons", ()))
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> GateDecision:
        return cls.from_dict(json.loads(text))
