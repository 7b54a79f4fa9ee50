"""The branch after the drift verdict: launch, schedule or skip retraining, then finish.

Like every step these are keyed on the logical date: a rerun launches nothing
new when the date's pipeline run exists and records one scheduled run at most.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from driftloop.config import Settings
from driftloop.errors import InputError
from driftloop.monitor.runs import Context, get_run, open_context, parse_day, run_key, timed
from driftloop.monitor.runs import update_run as _update
from driftloop.monitor.steps import DateLike, _plain
from driftloop.results import SEVERITY_ORDER
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database
from driftloop.storage.models import PipelineRun

__all__ = ["DECISIONS", "decide", "finish_run", "step_launch", "step_schedule"]

log = logging.getLogger(__name__)

DECISIONS = ("launch_retraining", "schedule_retraining", "skip_retraining")


def decide(
    severity: str,
    force_retrain: bool,
    settings: Settings,
    *,
    retrain_severity: str | None = None,
) -> str:
    """Which branch follows: launch (high or forced), schedule (medium) or skip.

    The thresholds are ``monitor.retrain_severity`` (or ``retrain_severity``)
    and ``monitor.schedule_severity``; a threshold of ``none`` turns that
    branch off, and ``insufficient_data`` never retrains on its own.
    """
    if severity not in SEVERITY_ORDER:
        raise InputError(
            f"unknown severity '{severity}'; expected one of {', '.join(SEVERITY_ORDER)}"
        )
    launch_at = retrain_severity or settings.monitor.retrain_severity
    if launch_at not in SEVERITY_ORDER or launch_at == "insufficient_data":
        raise InputError(f"retrain_severity '{launch_at}' is not one of none, low, medium, high")
    schedule_at = settings.monitor.schedule_severity
    rank = SEVERITY_ORDER[severity]
    if force_retrain:
        return "launch_retraining"
    if launch_at != "none" and rank >= SEVERITY_ORDER[launch_at]:
        return "launch_retraining"
    if schedule_at != "none" and rank >= SEVERITY_ORDER[schedule_at]:
        return "schedule_retraining"
    return "skip_retraining"


def _existing_pipeline_run(ctx: Context, key: str, statuses: tuple[str, ...]) -> PipelineRun | None:
    with ctx.db.session() as session:
        return session.scalar(
            select(PipelineRun)
            .where(PipelineRun.run_key == key, PipelineRun.status.in_(statuses))
            .order_by(PipelineRun.id.desc())
        )


def _recent_retraining(ctx: Context, day: dt.date, cooldown_days: int) -> PipelineRun | None:
    """A retraining launched for one of the ``cooldown_days`` logical dates before ``day``."""
    if cooldown_days <= 0:
        return None
    keys = [run_key(day - dt.timedelta(days=n)) for n in range(1, cooldown_days + 1)]
    with ctx.db.session() as session:
        return session.scalar(
            select(PipelineRun)
            .where(
                PipelineRun.run_key.in_(keys),
                PipelineRun.status.in_(
                    ("succeeded", "running", "pending", "launched", "submitted")
                ),
            )
            .order_by(PipelineRun.id.desc())
        )


def _pipeline_row(row: PipelineRun) -> dict[str, Any]:
    return {
        "external_id": row.external_id,
        "status": row.status,
        "backend": row.backend,
        "ui_url": row.ui_url,
        "trigger": row.trigger,
        "gate": dict(row.gate or {}),
    }


def step_launch(
    settings: Settings,
    logical_date: DateLike,
    *,
    params: Mapping[str, Any] | None = None,
    trigger: str = "drift",
    wait: bool | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Launch the retraining pipeline for the day (at most once per logical date).

    With no KFP host the pipeline runs under kfp.local and is waited for, so
    the answer says whether a model was promoted.
    """
    day = parse_day(logical_date)
    key = run_key(day)
    with open_context(settings, db, store) as ctx:
        done = _existing_pipeline_run(
            ctx, key, ("succeeded", "running", "pending", "launched", "submitted")
        )
        if done is not None:
            log.info(
                "launch %s: pipeline run %s already exists, not relaunched", key, done.external_id
            )
            info = _pipeline_row(done)
            return {"run_key": key, "relaunched": False, "promoted": _promoted(info), **info}
        recent = _recent_retraining(ctx, day, settings.monitor.retrain_cooldown_days)
        if recent is not None and trigger != "forced":
            info = {"status": "cooldown", "previous": _pipeline_row(recent)}
            _update(ctx.db, day, details={"retraining": info})
            log.info(
                "launch %s: retraining %s ran for %s, within the %d-day cooldown; not launched",
                key,
                recent.external_id,
                recent.run_key,
                settings.monitor.retrain_cooldown_days,
            )
            return {"run_key": key, "relaunched": False, "promoted": False, **info}
        # Imported by name so the library never imports kfp itself.
        launcher = importlib.import_module("pipelines.launcher")
        with timed(ctx.db, day, "launch"):
            run_info = launcher.launch(
                settings,
                dict(params or {}),
                wait=(not settings.kfp.host) if wait is None else wait,
                trigger=trigger,
                run_key=key,
            )
        info = _plain(run_info)
        _update(ctx.db, day, details={"retraining": info})
    promoted = _promoted(info)
    log.info("launch %s: pipeline run %s, promoted=%s", key, info.get("run_id"), promoted)
    return {"run_key": key, "relaunched": True, "promoted": promoted, **info}


def _promoted(info: Mapping[str, Any]) -> bool:
    if "promoted" in info:
        return bool(info["promoted"])
    gate = info.get("gate") or {}
    return bool(gate.get("promote")) and info.get("status") == "succeeded"


def step_schedule(
    settings: Settings,
    logical_date: DateLike,
    *,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Record a scheduled retraining for the day (one row per date, however often rerun)."""
    day = parse_day(logical_date)
    key = run_key(day)
    with open_context(settings, db, store) as ctx:
        with ctx.db.session() as session:
            row = session.scalar(
                select(PipelineRun).where(
                    PipelineRun.run_key == key, PipelineRun.status == "scheduled"
                )
            )
            if row is None:
                row = PipelineRun(
                    external_id=f"scheduled-{key}",
                    status="scheduled",
                    trigger="drift-scheduled",
                    run_key=key,
                    backend="kfp" if settings.kfp.host else "local",
                    host=settings.kfp.host or None,
                    parameters={},
                    gate={},
                )
                session.add(row)
                created = True
            else:
                created = False
        _update(ctx.db, day, details={"retraining": {"status": "scheduled"}})
    log.info("schedule %s: retraining %s", key, "scheduled" if created else "was already scheduled")
    return {"run_key": key, "status": "scheduled", "created": created}


def finish_run(
    settings: Settings,
    logical_date: DateLike,
    decision: str,
    *,
    links: Mapping[str, str] | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Mark the day's run finished with the branch it took.

    When the branch launched or scheduled a retraining, the day's report is
    rendered again (with ``links``) so it shows the run and the gate's decision;
    ``links=None`` skips that (the report was never rendered, e.g. a dry run).
    """
    from driftloop.monitor.steps import step_report

    day = parse_day(logical_date)
    with open_context(settings, db, store) as ctx:
        _update(ctx.db, day, details={"decision": decision})
        retraining = (get_run(ctx.db, day).details or {}).get("retraining")
        if retraining and links is not None:
            # The report was written before the branch: show what retraining did.
            step_report(settings, day, links=links, db=ctx.db, store=ctx.store)
        _update(ctx.db, day, status="succeeded", finished_at=dt.datetime.now(dt.UTC))
    return {"run_key": run_key(day), "decision": decision}
