"""DriftResult and GateDecision are frozen and round-trip through JSON."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from driftloop.results import DriftResult, FeatureDrift, GateDecision


def test_drift_result_round_trips_and_writes_nan_as_null() -> None:
    row = FeatureDrift(
        name="mean",
        test="ks",
        statistic=0.3,
        p_value=math.nan,
        threshold=0.05,
        drifted=True,
        effect_size=1.2,
    )
    result = DriftResult(
        drift_detected=True,
        severity="high",
        severity_rule="r",
        n_reference=100,
        n_current=50,
        features=(row,),
        details={"class_shares": {"glioma": 0.5}},
    )
    text = result.to_json()
    assert json.loads(text)["features"][0]["p_value"] is None
    back = DriftResult.from_json(text)
    assert back.features[0].name == "mean" and back.severity == "high"
    assert back.drifted_features[0].effect_size == 1.2
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.severity = "none"  # type: ignore[misc]


def test_gate_decision_status_and_round_trip() -> None:
    gate = GateDecision(
        promote=False,
        reasons=("auc 0.6 < 0.72",),
        candidate_version="c",
        champion_version=None,
        candidate_auc=0.6,
        champion_auc=None,
        metric_min=0.72,
        metric_drop_tol=0.03,
    )
    data = json.loads(gate.to_json())
    assert data["status"] == "NOT_BLESSED"
    assert GateDecision.from_dict(data) == gate
