"""Real Airflow runs of image_drift_monitor with dag.test() on the tiny demo data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from driftloop.storage.db import Database
from driftloop.storage.models import (
    AlertRecord,
    DriftFeatureResult,
    MonitoringRun,
    PipelineRun,
    QuarantineRecord,
)

pytestmark = pytest.mark.slow

CLEAN_DAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
DRIFTED_DAY = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)  # scanner_change in the demo calendar


def _counts(db: Database) -> dict[str, int]:
    tables = (MonitoringRun, DriftFeatureResult, AlertRecord, PipelineRun, QuarantineRecord)
    with db.session() as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in tables
        }


def _run(db: Database, day: dt.datetime) -> MonitoringRun:
    with db.session() as session:
        run = session.scalar(
            select(MonitoringRun).where(MonitoringRun.run_key == day.date().isoformat())
        )
    assert run is not None
    return run


def _monitor_dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(
        dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "image_drift_monitor.py")
    )
    assert bag.import_errors == {}
    return bag.dags["image_drift_monitor"]


def _states(dagrun: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}


def test_clean_day_stops_at_the_branch_without_an_alert(
    monitor_env: Database, webhook: Any
) -> None:
    dagrun = _monitor_dag().test(logical_date=CLEAN_DAY, run_conf={})
    assert str(dagrun.state) == "success"
    states = _states(dagrun)
    assert states["skip_retraining"] == "success"
    assert states["launch_retraining"] == states["schedule_retraining"] == "skipped"
    run = _run(monitor_env, CLEAN_DAY)
    assert run.severity in ("none", "low") and run.status == "succeeded"
    assert run.details["decision"] == "skip_retraining"
    assert {"ingest", "compare", "report", "alert"} <= set(run.timings)
    assert webhook.received == []


def test_drifted_day_alerts_launches_retraining_and_a_rerun_changes_nothing(
    monitor_env: Database, webhook: Any
) -> None:
    dag = _monitor_dag()
    dagrun = dag.test(logical_date=DRIFTED_DAY, run_conf={"retrain_severity": "medium"})
    assert str(dagrun.state) == "success"
    states = _states(dagrun)
    assert states["launch_retraining"] == "success"
    assert states["schedule_retraining"] == states["skip_retraining"] == "skipped"
    run = _run(monitor_env, DRIFTED_DAY)
    assert run.severity in ("medium", "high") and run.drift_detected is True
    assert run.details["decision"] == "launch_retraining"
    assert run.report_uri and Path(run.report_uri).is_file()
    assert len(webhook.received) == 1
    first = _counts(monitor_env)
    assert first["pipeline_runs"] == 1 and first["drift_feature_results"] > 0

    again = dag.test(logical_date=DRIFTED_DAY, run_conf={"retrain_severity": "medium"})
    assert str(again.state) == "success"
    assert _counts(monitor_env) == first
    assert len(webhook.received) == 1
