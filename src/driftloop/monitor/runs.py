"""The MonitoringRun row of one logical date: upserted, never duplicated.

Every step finds its run by ``run_key`` (the logical date in ISO form), so a
rerun of the same date updates the same row instead of adding another.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from driftloop.config import Settings
from driftloop.errors import InputError, StorageError
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database
from driftloop.storage.models import MonitoringRun

__all__ = [
    "Context",
    "champion_uri",
    "open_context",
    "parse_day",
    "run_key",
    "timed",
    "update_run",
]

log = logging.getLogger(__name__)


def parse_day(value: str | dt.date | dt.datetime) -> dt.date:
    """The calendar day of a logical date given as a date, a datetime or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(
            f"logical date '{value}' is not a date; give it as YYYY-MM-DD (e.g. 2026-11-03)"
        ) from None


def run_key(day: dt.date) -> str:
    """The key every row of one monitoring run is stored under."""
    return day.isoformat()


@dataclass
class Context:
    """What a step needs besides its arguments: settings, database, store, layout."""

    settings: Settings
    db: Database
    store: ArtifactStore
    layout: Layout
    owns_db: bool = False

    def close(self) -> None:
        if self.owns_db:
            self.db.dispose()


@contextlib.contextmanager
def open_context(
    settings: Settings, db: Database | None = None, store: ArtifactStore | None = None
) -> Iterator[Context]:
    """Open the database and store the settings name (or use the ones given)."""
    owns = db is None
    database = db or Database(settings.db_url)
    artifacts = store or ArtifactStore(settings.artifacts_uri)
    ctx = Context(settings, database, artifacts, Layout(artifacts), owns_db=owns)
    try:
        yield ctx
    finally:
        ctx.close()


def _get_or_create(db: Database, day: dt.date) -> int:
    key = run_key(day)
    for _attempt in range(2):
        with db.session() as session:
            found = session.scalar(select(MonitoringRun.id).where(MonitoringRun.run_key == key))
            if found is not None:
                return int(found)
        try:
            with db.session() as session:
                row = MonitoringRun(run_key=key, logical_date=day, timings={}, details={})
                session.add(row)
                session.flush()
                return int(row.id)
        except IntegrityError:
            # Another task of the same run created it between our select and insert.
            continue
    raise StorageError(f"cannot create the monitoring run '{key}'; check the database")


def update_run(db: Database, day: dt.date, **fields: Any) -> None:
    """Set columns of the day's run (creating the row on first use).

    ``details`` and ``timings`` are merged into the stored dicts, not replaced.
    """
    run_id = _get_or_create(db, day)
    with db.session() as session:
        row = session.get(MonitoringRun, run_id)
        assert row is not None
        for name, value in fields.items():
            if name in ("details", "timings"):
                # A new dict, so SQLAlchemy sees the JSON column change.
                setattr(row, name, {**(getattr(row, name) or {}), **value})
            else:
                setattr(row, name, value)


def get_run(db: Database, day: dt.date) -> MonitoringRun:
    """The day's run, or an error saying which step must run first."""
    with db.session() as session:
        row = session.scalar(select(MonitoringRun).where(MonitoringRun.run_key == run_key(day)))
    if row is None:
        raise InputError(
            f"no monitoring run for {day.isoformat()}; run "
            f"'driftloop monitor step ingest --date {day.isoformat()}' first"
        )
    return row


@contextlib.contextmanager
def timed(db: Database, day: dt.date, step: str) -> Iterator[None]:
    """Record how long ``step`` took (seconds) in the run's ``timings``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = round(time.perf_counter() - start, 3)
        try:
            update_run(db, day, timings={step: seconds})
        except StorageError as exc:
            log.warning("could not record the timing of %s: %s", step, exc)
        log.info("step %s for %s took %.2f s", step, day.isoformat(), seconds)


def champion_uri(ctx: Context) -> str | None:
    """The current champion model's folder, or None before the first promotion."""
    from driftloop.model import Registry

    uri = Registry(ctx.db, ctx.store).current_uri()
    return str(uri) if uri else None
