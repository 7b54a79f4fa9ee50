"""/monitoring/*: the recorded monitoring runs and their drift summaries (token-protected)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from driftloop.serve.app import ServeState, require_token
from driftloop.serve.images import ApiError
from driftloop.serve.schemas import ErrorResponse, FeatureDriftOut, RunDetail, RunSummary
from driftloop.storage.models import DriftFeatureResult, MonitoringRun

__all__ = ["router"]

router = APIRouter(
    prefix="/monitoring",
    tags=["monitoring"],
    dependencies=[Depends(require_token)],
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)

_MAX_ROWS = 1000
_MAX_ID = 2**31 - 1  # an INTEGER column on every database


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes (stored as UTC); the API always says which zone.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _summary(run: MonitoringRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "run_key": run.run_key,
        "logical_date": run.logical_date,
        "status": run.status,
        "severity": run.severity,
        "drift_detected": run.drift_detected,
        "n_listed": run.n_listed,
        "n_accepted": run.n_accepted,
        "n_quarantined": run.n_quarantined,
        "baseline_version": run.baseline_version,
        "model_version": run.model_version,
        "report_uri": run.report_uri,
        "started_at": _utc(run.started_at),
        "finished_at": _utc(run.finished_at),
    }


def _detail(state: ServeState, run_id: int | None) -> RunDetail:
    with state.db.session() as s:
        if run_id is None:
            run = s.scalars(
                select(MonitoringRun)
                .where(MonitoringRun.severity.is_not(None))
                .order_by(MonitoringRun.logical_date.desc(), MonitoringRun.id.desc())
            ).first()
            if run is None:
                raise ApiError(
                    404,
                    "no_runs",
                    "no monitoring run has a drift result yet; run 'driftloop check' or the DAG",
                )
        else:
            run = s.get(MonitoringRun, run_id)
            if run is None:
                raise ApiError(
                    404,
                    "unknown_run",
                    f"no monitoring run has id {run_id}; see GET /monitoring/runs",
                )
        tests = s.scalars(
            select(DriftFeatureResult)
            .where(DriftFeatureResult.run_id == run.id)
            .order_by(DriftFeatureResult.feature, DriftFeatureResult.id)
        ).all()
        features = [
            FeatureDriftOut(
                feature=t.feature,
                test=t.test,
                statistic=t.statistic,
                p_value=t.p_value,
                threshold=t.threshold,
                drifted=t.drifted,
            )
            for t in tests
        ]
        drifted = sorted({f.feature for f in features if f.drifted})
        return RunDetail(
            **_summary(run),
            result_uri=run.result_uri,
            n_drifted=len(drifted),
            drifted_features=drifted,
            features=features,
            details=dict(run.details or {}),
        )


def _list(state: ServeState, limit: int) -> list[RunSummary]:
    with state.db.session() as s:
        runs = s.scalars(
            select(MonitoringRun)
            .order_by(MonitoringRun.logical_date.desc(), MonitoringRun.id.desc())
            .limit(limit)
        ).all()
        return [RunSummary(**_summary(r)) for r in runs]


@router.get("/runs", response_model=list[RunSummary])
async def runs(
    request: Request, limit: int = Query(50, ge=1, le=_MAX_ROWS, description="newest first")
) -> list[RunSummary]:
    """The newest monitoring runs, one per logical date."""
    state: ServeState = request.app.state.serve
    return await run_in_threadpool(_list, state, limit)


@router.get("/runs/{run_id}", response_model=RunDetail)
async def run(
    request: Request,
    run_id: int = Path(ge=1, le=_MAX_ID, description="id from GET /monitoring/runs"),
) -> RunDetail:
    """One run's drift summary (every test, which features drifted) and its report link."""
    state: ServeState = request.app.state.serve
    return await run_in_threadpool(_detail, state, run_id)


@router.get("/drift/latest", response_model=RunDetail)
async def latest_drift(request: Request) -> RunDetail:
    """The newest run that has a drift result."""
    state: ServeState = request.app.state.serve
    return await run_in_threadpool(_detail, state, None)
