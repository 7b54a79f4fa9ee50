"""The promotion gate decides from numbers, fails closed, and never raises."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from driftloop.model import decide_gate, gate_models
from driftloop.results import GateDecision

HELD_OUT = "a" * 64


def metrics(auc: float | None, on: str | None = HELD_OUT) -> dict[str, object]:
    return {"macro_auc": auc, "accuracy": 0.8, "evaluated_on": on}


def test_better_candidate_is_blessed() -> None:
    d = decide_gate(metrics(0.93), metrics(0.90), candidate_version="m-2", champion_version="m-1")
    assert d.promote and d.status == "BLESSED"
    assert (d.candidate_auc, d.champion_auc) == (0.93, 0.90)
    assert d.evaluated_on == HELD_OUT and d.candidate_version == "m-2"


def test_slightly_worse_within_tolerance_is_blessed() -> None:
    assert decide_gate(metrics(0.88), metrics(0.90), 0.72, 0.03).promote


def test_worse_beyond_tolerance_is_rejected_with_the_numbers() -> None:
    d = decide_gate(metrics(0.86), metrics(0.90), 0.72, 0.03)
    assert not d.promote and d.status == "NOT_BLESSED"
    assert any("0.8600" in r and "0.9000" in r for r in d.reasons)


def test_below_minimum_is_rejected_even_without_champion() -> None:
    d = decide_gate(metrics(0.70), None, metric_min=0.72)
    assert not d.promote
    assert any("below the minimum" in r for r in d.reasons)


def test_no_champion_only_minimum_applies() -> None:
    d = decide_gate(metrics(0.75), None)
    assert d.promote and d.champion_auc is None
    assert any("no champion" in r for r in d.reasons)


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, "high", 1.7])
def test_missing_or_invalid_candidate_auc_fails_closed(bad: object) -> None:
    d = decide_gate({"macro_auc": bad, "evaluated_on": HELD_OUT}, metrics(0.5))
    assert not d.promote and d.candidate_auc is None
    json.loads(d.to_json())  # still serialisable (NaN written as null)


def test_missing_candidate_metrics_fail_closed() -> None:
    assert not decide_gate(None, None).promote
    assert not decide_gate({}, None).promote


def test_champion_with_nan_auc_fails_closed() -> None:
    d = decide_gate(metrics(0.99), metrics(math.nan))
    assert not d.promote
    assert any("champion macro_auc" in r for r in d.reasons)


def test_mismatched_evaluation_sets_are_rejected() -> None:
    d = decide_gate(metrics(0.99, on="b" * 64), metrics(0.80, on="c" * 64))
    assert not d.promote
    assert any("different data" in r for r in d.reasons)


def test_unknown_evaluation_set_with_a_champion_is_rejected() -> None:
    assert not decide_gate(metrics(0.99, on=None), metrics(0.80)).promote


def test_candidate_not_evaluated_on_the_gate_set_is_rejected() -> None:
    d = decide_gate(metrics(0.99), None, evaluated_on="d" * 64)
    assert not d.promote


def test_unexpected_error_inside_the_gate_fails_closed() -> None:
    class Exploding(dict[str, object]):
        def get(self, key: str, default: object = None) -> object:
            raise RuntimeError("boom")

    d = decide_gate(Exploding(), None)
    assert not d.promote and any("boom" in r for r in d.reasons)


def test_decision_round_trips_through_json() -> None:
    d = decide_gate(metrics(0.91), metrics(0.9), candidate_version="m-2")
    again = GateDecision.from_json(d.to_json())
    assert again == d


def test_unreadable_candidate_model_is_not_blessed(tmp_path: Path, blob_data: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.keras").write_bytes(b"not a zip")
    (broken / "classes.json").write_text('["glioma"]')
    d, cand, _ = gate_models(str(broken), None, blob_data / "reference")
    assert not d.promote and cand is None
    assert any("could not be evaluated" in r for r in d.reasons)


def test_real_models_gate_on_the_same_held_out_set(trained_model: Path, blob_data: Path) -> None:
    d, cand, champ = gate_models(str(trained_model), str(trained_model), blob_data / "reference")
    assert cand is not None and champ is not None
    assert cand["evaluated_on"] == champ["evaluated_on"] == d.evaluated_on
    assert d.promote == (cand["macro_auc"] >= 0.72)
