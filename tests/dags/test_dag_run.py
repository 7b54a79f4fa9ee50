"""Real Airflow runs of image_drift_monitor with dag.test() on the tiny demo data."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from driftloop.config import load_settings
from driftloop.storage.db import Database, upgrade
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


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A real HTTP receiver on 127.0.0.1 that records the JSON bodies posted to it."""
    received: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    server.shutdown()
    server.server_close()


@pytest.fixture
def monitor_env(
    tmp_path: Path,
    demo_tiny: Path,
    airflow_db: Path,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> Database:
    """DRIFTLOOP_* settings the tasks read, a migrated database and a current baseline."""
    from driftloop.monitor import refresh_baseline

    env = {
        "DRIFTLOOP_HOME": str(tmp_path / "var"),
        "DRIFTLOOP_MONITOR__SOURCE": str(demo_tiny / "production" / "{date}"),
        "DRIFTLOOP_ALERTS__WEBHOOK__URL": webhook.url,
        "DRIFTLOOP_ALERTS__WEBHOOK__MIN_SEVERITY": "medium",
        "DRIFTLOOP_KFP__DATA_URI": str(demo_tiny / "train"),
        "DRIFTLOOP_MODEL__EPOCHS": "1",
        "DRIFTLOOP_MODEL__IMAGE_SIZE": "64",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    db = Database(settings.db_url)
    upgrade(db)
    refresh_baseline(settings, str(demo_tiny / "reference"))
    return db


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
    monitor_env: Database, webhook: Webhook
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
    monitor_env: Database, webhook: Webhook
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
