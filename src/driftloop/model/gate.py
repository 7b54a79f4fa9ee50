"""The promotion gate: decide, as data, whether a candidate may replace the champion.

The rule: the candidate's macro AUC must be at least ``metric_min`` and at
least the champion's macro AUC minus ``metric_drop_tol``, both measured on the
same held-out images (their ``evaluated_on`` fingerprints must match). With no
champion only ``metric_min`` applies. The gate fails closed: a missing or
non-finite metric, metrics from different data, an unreadable model or any
unexpected error gives a NOT_BLESSED decision with the reason; it never raises.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from driftloop.results import GateDecision

__all__ = ["decide_gate", "gate_models"]

log = logging.getLogger(__name__)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _read_auc(metrics: Any, who: str, reasons: list[str]) -> float | None:
    """The finite macro AUC in ``metrics``, or None with the reason appended."""
    if not isinstance(metrics, Mapping):
        reasons.append(f"{who} metrics are missing ({type(metrics).__name__}); cannot judge it")
        return None
    raw = metrics.get("macro_auc")
    if raw is None:
        reasons.append(f"{who} metrics have no macro_auc; evaluate it first")
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        reasons.append(f"{who} macro_auc {raw!r} is not a number")
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        reasons.append(f"{who} macro_auc {raw!r} is not a finite value in [0, 1]")
        return None
    return value


def _check_same_data(
    candidate: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    evaluated_on: str | None,
    reasons: list[str],
) -> bool:
    cand_on = candidate.get("evaluated_on")
    if evaluated_on is not None and cand_on != evaluated_on:
        reasons.append(
            f"candidate was evaluated on {cand_on!r}, not on the gate's held-out set {evaluated_on!r}"
        )
        return False
    if champion is None:
        return True
    champ_on = champion.get("evaluated_on")
    if cand_on is None or champ_on is None:
        reasons.append(
            "cannot show candidate and champion were evaluated on the same held-out set "
            f"(evaluated_on: candidate {cand_on!r}, champion {champ_on!r}); evaluate both on one set"
        )
        return False
    if cand_on != champ_on:
        reasons.append(
            f"candidate and champion were evaluated on different data ({cand_on[:12]}... vs "
            f"{champ_on[:12]}...); evaluate both on the same held-out set"
        )
        return False
    return True


def _decide(
    candidate_metrics: Any,
    champion_metrics: Any,
    metric_min: float,
    metric_drop_tol: float,
    reasons: list[str],
    evaluated_on: str | None,
) -> tuple[bool, float | None, float | None]:
    cand_auc = _read_auc(candidate_metrics, "candidate", reasons)
    if cand_auc is None:
        return False, None, None
    ok = True
    if cand_auc < metric_min:
        reasons.append(f"candidate macro AUC {cand_auc:.4f} is below the minimum {metric_min:.4f}")
        ok = False
    else:
        reasons.append(f"candidate macro AUC {cand_auc:.4f} >= minimum {metric_min:.4f}")
    if champion_metrics is None:
        reasons.append("no champion yet: only the minimum applies")
        same = _check_same_data(candidate_metrics, None, evaluated_on, reasons)
        return ok and same, cand_auc, None
    champ_auc = _read_auc(champion_metrics, "champion", reasons)
    if champ_auc is None:
        return False, cand_auc, None
    floor = champ_auc - metric_drop_tol
    if cand_auc < floor:
        reasons.append(
            f"candidate macro AUC {cand_auc:.4f} is more than {metric_drop_tol:.4f} below the "
            f"champion's {champ_auc:.4f} (floor {floor:.4f})"
        )
        ok = False
    else:
        reasons.append(
            f"candidate macro AUC {cand_auc:.4f} >= champion {champ_auc:.4f} - "
            f"tolerance {metric_drop_tol:.4f}"
        )
    same = _check_same_data(candidate_metrics, champion_metrics, evaluated_on, reasons)
    return ok and same, cand_auc, champ_auc


def decide_gate(
    candidate_metrics: Mapping[str, Any] | None,
    champion_metrics: Mapping[str, Any] | None,
    metric_min: float = 0.72,
    metric_drop_tol: float = 0.03,
    *,
    candidate_version: str | None = None,
    champion_version: str | None = None,
    evaluated_on: str | None = None,
) -> GateDecision:
    """Decide whether the candidate may be promoted; never raises (errors -> NOT_BLESSED)."""
    reasons: list[str] = []
    cand_auc: float | None = None
    champ_auc: float | None = None
    try:
        promote, cand_auc, champ_auc = _decide(
            candidate_metrics, champion_metrics, metric_min, metric_drop_tol, reasons, evaluated_on
        )
        if evaluated_on is None and isinstance(candidate_metrics, Mapping):
            on = candidate_metrics.get("evaluated_on")
            evaluated_on = on if isinstance(on, str) else None
    except Exception as exc:  # fail closed on anything unforeseen, and say what it was
        reasons.append(f"gate error: {type(exc).__name__}: {exc}")
        promote = False
    decision = GateDecision(
        promote=promote,
        reasons=tuple(reasons),
        candidate_version=candidate_version,
        champion_version=champion_version,
        candidate_auc=cand_auc,
        champion_auc=champ_auc,
        metric_min=float(metric_min),
        metric_drop_tol=float(metric_drop_tol),
        evaluated_on=evaluated_on,
        decided_at=_now(),
    )
    log.info("gate %s for %s: %s", decision.status, candidate_version, "; ".join(reasons))
    return decision


def gate_models(
    candidate_uri: str,
    champion_uri: str | None,
    data_dir: str | Path,
    metric_min: float = 0.72,
    metric_drop_tol: float = 0.03,
) -> tuple[GateDecision, dict[str, Any] | None, dict[str, Any] | None]:
    """Evaluate candidate (and champion) on ``data_dir`` and decide; never raises.

    Returns the decision and the two metric dicts (None where evaluation failed).
    """
    from driftloop.model.evaluation import evaluate

    reasons: list[str] = []
    results: dict[str, dict[str, Any] | None] = {}
    for who, uri in (("candidate", candidate_uri), ("champion", champion_uri)):
        if uri is None:
            results[who] = None
            continue
        try:
            results[who] = evaluate(uri, data_dir)
        except Exception as exc:  # an unreadable model or data set must block promotion
            results[who] = None
            reasons.append(f"{who} model '{uri}' could not be evaluated: {exc}")
    cand_v = (results["candidate"] or {}).get("model_version")
    champ_v = (results["champion"] or {}).get("model_version")
    if reasons:
        decision = GateDecision(
            promote=False,
            reasons=tuple(reasons),
            candidate_version=cand_v,
            champion_version=champ_v,
            candidate_auc=None,
            champion_auc=None,
            metric_min=float(metric_min),
            metric_drop_tol=float(metric_drop_tol),
            decided_at=_now(),
        )
        log.warning("gate NOT_BLESSED: %s", "; ".join(reasons))
        return decision, results["candidate"], results["champion"]
    cand = results["candidate"]
    on = cand.get("evaluated_on") if cand else None
    decision = decide_gate(
        cand,
        results["champion"],
        metric_min,
        metric_drop_tol,
        candidate_version=cand_v,
        champion_version=champ_v,
        evaluated_on=on,
    )
    return decision, cand, results["champion"]
