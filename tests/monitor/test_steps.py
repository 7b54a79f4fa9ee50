"""The monitoring steps' own logic: run records, idempotence, the branch decision."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from driftloop.config import Settings, load_settings
from driftloop.errors import ConfigError, InputError
from driftloop.monitor import decide, finish_run, resolve_source, step_schedule
from driftloop.monitor.runs import get_run, parse_day, timed, update_run
from driftloop.storage.db import Database
from driftloop.storage.models import MonitoringRun, PipelineRun

DAY = dt.date(2026, 11, 3)


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("severity", "forced", "expected"),
    [
        ("high", False, "launch_retraining"),
        ("medium", False, "schedule_retraining"),
        ("low", False, "skip_retraining"),
        ("none", False, "skip_retraining"),
        ("insufficient_data", False, "skip_retraining"),
        ("none", True, "launch_retraining"),
        ("insufficient_data", True, "launch_retraining"),
    ],
)
def test_decide_follows_the_severity_rule(
    settings: Settings, severity: str, forced: bool, expected: str
) -> None:
    assert decide(severity, forced, settings) == expected


def test_decide_uses_the_configured_thresholds() -> None:
    strict = load_settings(
        environ={}, monitor={"retrain_severity": "medium", "schedule_severity": "low"}
    )
    assert decide("medium", False, strict) == "launch_retraining"
    assert decide("low", False, strict) == "schedule_retraining"
    assert decide("none", False, strict) == "skip_retraining"


def test_retrain_severity_none_only_launches_when_forced(settings: Settings) -> None:
    assert decide("high", False, settings, retrain_severity="none") == "schedule_retraining"
    assert decide("high", True, settings, retrain_severity="none") == "launch_retraining"


def test_decide_rejects_an_unknown_severity(settings: Settings) -> None:
    with pytest.raises(InputError, match="unknown severity 'severe'"):
        decide("severe", False, settings)
    with pytest.raises(InputError, match="retrain_severity 'huge'"):
        decide("high", False, settings, retrain_severity="huge")


def test_source_template_gets_the_logical_date(settings: Settings) -> None:
    assert resolve_source(settings, "data/production/{date}", DAY) == "data/production/2026-11-03"
    configured = load_settings(environ={}, monitor={"source": "s3://b/{date}/"})
    assert resolve_source(configured, None, DAY) == "s3://b/2026-11-03/"


def test_missing_source_says_how_to_set_it(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="DRIFTLOOP_MONITOR__SOURCE"):
        resolve_source(settings, "", DAY)


def test_logical_date_accepts_dates_datetimes_and_iso_strings() -> None:
    assert parse_day("2026-11-03") == DAY
    assert parse_day("2026-11-03T00:00:00+00:00") == DAY
    assert parse_day(dt.datetime(2026, 11, 3, 5, tzinfo=dt.UTC)) == DAY
    with pytest.raises(InputError, match="'yesterday' is not a date"):
        parse_day("yesterday")


def test_updating_a_run_twice_keeps_one_row_and_merges_details(db: Database) -> None:
    update_run(db, DAY, n_listed=5, details={"a": 1}, timings={"ingest": 1.0})
    update_run(db, DAY, n_listed=7, details={"b": 2}, timings={"compare": 2.0})
    assert _count(db, MonitoringRun) == 1
    run = get_run(db, DAY)
    assert run.run_key == "2026-11-03"
    assert run.n_listed == 7
    assert run.details == {"a": 1, "b": 2}
    assert run.timings == {"ingest": 1.0, "compare": 2.0}


def test_timed_records_the_step_even_when_it_fails(db: Database) -> None:
    with pytest.raises(RuntimeError), timed(db, DAY, "compare"):
        raise RuntimeError("boom")
    assert "compare" in get_run(db, DAY).timings


def test_a_step_before_ingest_says_which_to_run(db: Database) -> None:
    with pytest.raises(InputError, match="monitor step ingest --date 2026-11-03"):
        get_run(db, DAY)


def test_scheduling_the_same_date_twice_records_one_scheduled_run(
    settings: Settings, db: Database
) -> None:
    first = step_schedule(settings, DAY, db=db)
    second = step_schedule(settings, DAY, db=db)
    assert first["created"] is True and second["created"] is False
    with db.session() as session:
        rows = session.scalars(select(PipelineRun)).all()
    assert [(r.run_key, r.status) for r in rows] == [("2026-11-03", "scheduled")]


def test_finish_marks_the_run_succeeded_with_its_branch(settings: Settings, db: Database) -> None:
    update_run(db, DAY, status="running")
    finish_run(settings, DAY, "skip_retraining", db=db)
    run = get_run(db, DAY)
    assert run.status == "succeeded"
    assert run.details["decision"] == "skip_retraining"
    assert run.finished_at is not None
