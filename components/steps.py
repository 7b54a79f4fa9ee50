"""The retraining steps as plain functions over paths: train, evaluate, gate, promote, reject.

No kfp import here. ``driftloop pipeline step NAME`` (what the container components
run in the steps image) and the kfp.local Python components both call these, so a
cluster run and a laptop run execute the same code. Each step loads settings
itself (artifact root and database URL may be overridden by pipeline parameters)
because in a cluster it is a separate pod.

Promotion fails closed: the promote step re-reads the gate decision and refuses
anything that is not BLESSED, whatever the pipeline's condition said.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from components.data import read_fingerprint
from driftloop.config import Settings, load_settings
from driftloop.errors import InputError, PromotionError
from driftloop.results import GateDecision

__all__ = [
    "GATE_FILE",
    "evaluate_step",
    "gate_step",
    "promote_step",
    "read_decision",
    "refresh_baseline",
    "reject_step",
    "step_settings",
    "train_step",
]

log = logging.getLogger(__name__)

GATE_FILE = "gate.json"


def step_settings(artifact_root: str = "", database_url: str = "") -> Settings:
    """Settings for one step; non-empty pipeline parameters win over the environment."""
    overrides: dict[str, Any] = {}
    if artifact_root:
        overrides["artifact_root"] = artifact_root
    if database_url:
        overrides["database_url"] = database_url
    return load_settings(**overrides)


@contextmanager
def _registry(settings: Settings) -> Iterator[Any]:
    from driftloop.model import Registry
    from driftloop.storage.artifacts import ArtifactStore
    from driftloop.storage.db import Database

    db = Database(settings.db_url)
    try:
        yield Registry(db, ArtifactStore(settings.artifacts_uri))
    finally:
        db.dispose()


def _write_json(path: str | Path, data: Mapping[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(dict(data), indent=2, default=str), encoding="utf-8")


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read step output '{path}': {exc}") from None
    return data


def train_step(
    train_dir: str,
    model_out: str,
    metrics_out: str,
    *,
    arch: str,
    epochs: int,
    batch_size: int,
    image_size: int,
    seed: int,
) -> dict[str, Any]:
    """Train a candidate on the prepared training split; write its training metrics."""
    from driftloop.model import train

    result = train(
        str(Path(train_dir) / "images"),
        model_out,
        arch=arch,
        epochs=epochs,
        batch_size=batch_size,
        image_size=image_size,
        seed=seed,
        feedback_dir=None,  # prepare_data already merged the feedback into the split
    )
    metrics = dict(result.metrics)
    _write_json(
        metrics_out,
        {"model_uri": result.model_uri, "fingerprint": read_fingerprint(train_dir), **metrics},
    )
    log.info("trained %s for %d epochs -> %s", arch, epochs, result.model_uri)
    return metrics


def evaluate_step(
    model_dir: str,
    holdout_dir: str,
    candidate_out: str,
    champion_out: str,
    *,
    artifact_root: str = "",
    database_url: str = "",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Evaluate the candidate and the current champion on the same held-out split."""
    from driftloop.model import evaluate

    images = str(Path(holdout_dir) / "images")
    fingerprint = read_fingerprint(holdout_dir)
    candidate: dict[str, Any] = {
        "version": None,
        "metrics": evaluate(model_dir, images),
        "data_fingerprint": fingerprint,
    }
    settings = step_settings(artifact_root, database_url)
    with _registry(settings) as registry:
        current = registry.current()
        champion_uri = registry.current_uri()
    champion: dict[str, Any] = {"version": None, "metrics": None, "data_fingerprint": fingerprint}
    if current is not None and champion_uri:
        champion["version"] = current.version
        champion["metrics"] = evaluate(champion_uri, images)
    _write_json(candidate_out, candidate)
    _write_json(champion_out, champion)
    log.info(
        "evaluated on %s: candidate macro_auc=%s, champion %s macro_auc=%s",
        fingerprint[:12],
        candidate["metrics"].get("macro_auc"),
        champion["version"] or "(none)",
        (champion["metrics"] or {}).get("macro_auc"),
    )
    return candidate, champion


def read_decision(decision_dir: str | Path) -> GateDecision:
    """The GateDecision a gate step wrote (``<artifact>/gate.json``)."""
    path = Path(decision_dir) / GATE_FILE
    try:
        return GateDecision.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as exc:
        raise PromotionError(
            f"gate decision '{path}' is unreadable ({exc}); nothing is promoted — rerun the gate step"
        ) from None


def gate_step(
    model_dir: str,
    train_dir: str,
    candidate_metrics: str,
    champion_metrics: str,
    decision_out: str,
    status_out: str,
    *,
    arch: str,
    metric_min: float,
    metric_drop_tol: float,
    artifact_root: str = "",
    database_url: str = "",
    pipeline_run_id: str = "",
) -> GateDecision:
    """Register the candidate, decide BLESSED / NOT_BLESSED, write gate.json and the status."""
    from driftloop.model import decide_gate

    candidate = _read_json(candidate_metrics)
    champion = _read_json(champion_metrics)
    fingerprint = read_fingerprint(train_dir)
    settings = step_settings(artifact_root, database_url)
    with _registry(settings) as registry:
        version = registry.register(
            model_dir,
            arch=arch,
            metrics=candidate["metrics"],
            fingerprint=fingerprint,
            details={"pipeline_run_id": pipeline_run_id} if pipeline_run_id else None,
        )
    decision: GateDecision = decide_gate(
        candidate["metrics"],
        champion["metrics"],
        metric_min,
        metric_drop_tol,
        candidate_version=version,
        champion_version=champion["version"],
        # The model library fingerprints the held-out files it read; both sides must match it.
        evaluated_on=candidate["metrics"].get("evaluated_on"),
    )
    Path(decision_out).mkdir(parents=True, exist_ok=True)
    (Path(decision_out) / GATE_FILE).write_text(decision.to_json(), encoding="utf-8")
    Path(status_out).parent.mkdir(parents=True, exist_ok=True)
    Path(status_out).write_text(decision.status, encoding="utf-8")
    if pipeline_run_id:
        _record_gate(settings, pipeline_run_id, decision)
    log.info("gate: %s for %s (%s)", decision.status, version, "; ".join(decision.reasons))
    return decision


def _record_gate(settings: Settings, pipeline_run_id: str, decision: GateDecision) -> None:
    """Put the decision on the launcher's PipelineRun row, if this run has one."""
    from sqlalchemy import select

    from driftloop.storage.db import Database
    from driftloop.storage.models import PipelineRun

    db = Database(settings.db_url)
    try:
        with db.session() as session:
            row = session.scalars(
                select(PipelineRun).where(PipelineRun.external_id == pipeline_run_id)
            ).first()
            if row is not None:
                row.gate = decision.to_dict()
    finally:
        db.dispose()


def promote_step(
    decision_dir: str,
    train_dir: str,
    *,
    artifact_root: str = "",
    database_url: str = "",
    refresh: bool = True,
    actor: str = "kfp:retrain",
) -> str:
    """Promote the BLESSED candidate (registry: model first, CURRENT last), then refresh the baseline."""
    decision = read_decision(decision_dir)
    if not decision.promote or not decision.candidate_version:
        raise PromotionError(
            f"gate decision for {decision.candidate_version} is {decision.status}; "
            "promotion refused (fail closed)"
        )
    settings = step_settings(artifact_root, database_url)
    with _registry(settings) as registry:
        registry.promote(decision.candidate_version, decision, actor)
        model_uri = registry.current_uri()
    log.info("promoted %s (was %s)", decision.candidate_version, decision.champion_version)
    if refresh:
        refresh_baseline(
            settings,
            model_version=decision.candidate_version,
            model_uri=model_uri,
            images_dir=str(Path(train_dir) / "images"),
            data_fingerprint=read_fingerprint(train_dir),
        )
    return decision.candidate_version


def refresh_baseline(
    settings: Settings,
    *,
    model_version: str,
    model_uri: str | None,
    images_dir: str,
    data_fingerprint: str,
) -> str:
    """Profile the new champion's training images into a new current baseline; returns its URI."""
    from driftloop.drift import build_baseline, save_baseline
    from driftloop.features import extract, read_features
    from driftloop.ingest import ingest
    from driftloop.storage.artifacts import ArtifactStore
    from driftloop.storage.db import Database

    store = ArtifactStore(settings.artifacts_uri)
    db = Database(settings.db_url)
    try:
        with tempfile.TemporaryDirectory(prefix="driftloop-baseline-") as tmp:
            summary = ingest(
                images_dir,
                dt.date.today(),
                settings,
                store=store,
                out=os.path.join(tmp, "manifest.parquet"),
            )
            extracted = extract(
                summary.manifest_uri, os.path.join(tmp, "features"), settings, model_uri=model_uri
            )
            frame = read_features(os.path.join(tmp, "features"))
            baseline = build_baseline(
                frame,
                settings=settings,
                model_version=model_version,
                data_fingerprint=data_fingerprint,
            )
            uri: str = save_baseline(baseline, store, db)
    finally:
        db.dispose()
    log.info(
        "baseline %s from %d images (%d feature rows) -> %s",
        baseline.version,
        summary.n_accepted,
        extracted.n_rows,
        uri,
    )
    return uri


def reject_step(
    decision_dir: str,
    *,
    artifact_root: str = "",
    database_url: str = "",
    actor: str = "kfp:retrain",
) -> GateDecision:
    """Record a NOT_BLESSED decision (a ``rejected`` model event); the champion stays."""
    decision = read_decision(decision_dir)
    if decision.promote:
        raise PromotionError(
            f"record-rejection got a BLESSED decision for {decision.candidate_version}; "
            "the pipeline's condition and gate.json disagree"
        )
    if not decision.candidate_version:
        raise PromotionError(f"gate decision '{decision_dir}' names no candidate version")
    settings = step_settings(artifact_root, database_url)
    with _registry(settings) as registry:
        # The registry records a NOT_BLESSED decision as 'rejected' and moves nothing.
        registry.promote(decision.candidate_version, decision, actor)
    log.info(
        "rejected %s: %s; champion %s stays",
        decision.candidate_version,
        "; ".join(decision.reasons),
        decision.champion_version,
    )
    return decision
