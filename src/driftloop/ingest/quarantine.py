"""Quarantine: copy a bad file aside and record why, without touching the source.

Copies go to ``quarantine/<date>/<sha256-prefix>_<name>`` in the artifact store;
each gets one ``quarantine_records`` row keyed on (logical date, source URI), so
a rerun of the same date updates rows instead of adding new ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database

__all__ = ["QuarantineEntry", "copy_to_quarantine", "quarantine_name", "record_quarantine"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined file as the database records it."""

    source_uri: str
    sha256: str | None
    quarantine_uri: str | None
    reason_code: str
    reason: str


def quarantine_name(source_uri: str, sha256: str | None) -> str:
    """``<sha256-prefix>_<name>``; the prefix keeps same-named files from colliding."""
    name = _UNSAFE.sub("_", source_uri.rstrip("/").rsplit("/", 1)[-1]) or "unnamed"
    return f"{(sha256 or 'nohash')[:12]}_{name[:150]}"


def copy_to_quarantine(
    store: ArtifactStore, date: dt.date, source_uri: str, sha256: str | None, data: bytes | None
) -> str | None:
    """Write a copy of the bad file's bytes; None when there were no bytes to copy."""
    if data is None:
        return None
    uri = f"{Layout(store).quarantine_dir(date)}/{quarantine_name(source_uri, sha256)}"
    return store.write_bytes(uri, data)


def record_quarantine(db: Database, date: dt.date, entries: Iterable[QuarantineEntry]) -> int:
    """Upsert one row per entry for ``date``; drop rows of that date no longer quarantined.

    Returns the number of rows the date has afterwards.
    """
    from sqlalchemy import delete, select

    from driftloop.storage.models import QuarantineRecord

    by_uri = {e.source_uri: e for e in entries}
    with db.session() as session:
        existing = {
            r.source_uri: r
            for r in session.scalars(
                select(QuarantineRecord).where(QuarantineRecord.logical_date == date)
            )
        }
        for uri, entry in by_uri.items():
            row = existing.get(uri)
            if row is None:
                row = QuarantineRecord(logical_date=date, source_uri=uri)
                session.add(row)
            row.sha256 = entry.sha256
            row.quarantine_uri = entry.quarantine_uri
            row.reason_code = entry.reason_code
            row.reason = entry.reason
        stale = [uri for uri in existing if uri not in by_uri]
        if stale:
            # A rerun of the date overwrites: files that now pass lose their record.
            session.execute(
                delete(QuarantineRecord).where(
                    QuarantineRecord.logical_date == date,
                    QuarantineRecord.source_uri.in_(stale),
                )
            )
    return len(by_uri)
