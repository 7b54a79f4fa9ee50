"""``ingest``: list a source, validate every file, quarantine the bad ones, write the manifest.

Nothing is lost: every listed file ends up in the manifest as accepted,
quarantined or duplicate, and ``n_listed == n_accepted + n_quarantined``
(duplicates are counted among the quarantined). Sources are only read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass

from driftloop.config import Settings
from driftloop.errors import InputError
from driftloop.ingest.manifest import ManifestRow, absolute_uri, write_manifest
from driftloop.ingest.quarantine import QuarantineEntry, copy_to_quarantine, record_quarantine
from driftloop.ingest.sources import Candidate, Source, open_source
from driftloop.ingest.validate import Verdict, validate_bytes
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database

__all__ = ["IngestSummary", "ingest", "parse_date"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestSummary:
    """Counts and where the manifest went; ``shards`` numbers the accepted shards."""

    manifest_uri: str
    n_listed: int
    n_accepted: int
    n_quarantined: int
    n_duplicates: int
    shards: tuple[int, ...]


def parse_date(value: str | dt.date) -> dt.date:
    """A logical date from ``YYYY-MM-DD`` (or a date/datetime, kept as its day)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"logical date '{value}' is not a date; use YYYY-MM-DD") from None


def _judge(
    cand: Candidate, source: Source, seen: dict[str, str], settings: Settings
) -> tuple[Verdict, str | None, bytes | None, int | None]:
    """Validate one candidate; returns (verdict, sha256, bytes, size)."""
    limit = settings.ingest.max_file_bytes
    if cand.size is not None and cand.size > limit:
        # Never pull an oversized file into memory just to reject it.
        reason = f"file size {cand.size} bytes exceeds max_file_bytes={limit}"
        return Verdict(None, None, None, None, "too_large", reason), None, None, cand.size
    try:
        data = source.read(cand.uri)
    except OSError as exc:
        reason = f"cannot read '{cand.uri}': {exc.strerror or exc}"
        return Verdict(None, None, None, None, "unreadable", reason), None, None, cand.size
    sha = hashlib.sha256(data).hexdigest()
    if data and sha in seen:
        reason = f"same content (sha256 {sha[:12]}…) as {seen[sha]}"
        return Verdict(None, None, None, None, "duplicate", reason), sha, data, len(data)
    seen.setdefault(sha, cand.uri)
    return validate_bytes(data, cand.uri, settings.ingest), sha, data, len(data)


def ingest(
    source: str,
    logical_date: str | dt.date,
    settings: Settings,
    *,
    db: Database | None = None,
    store: ArtifactStore | None = None,
    out: str | None = None,
) -> IngestSummary:
    """Validate every file of ``source`` for ``logical_date`` and write the manifest.

    ``source`` is a folder, an fsspec URI or ``predictions-log://``; the manifest
    goes to ``out`` (a URI, or a path relative to the working directory) or to
    ``runs/<date>/manifest.parquet`` in the artifact store.
    """
    from tqdm import tqdm

    date = parse_date(logical_date)
    store = store or ArtifactStore(settings.artifacts_uri)
    own_db = db is None
    database = db or Database(settings.db_url)
    try:
        src = open_source(source, date, db=database, store=store)
        candidates = src.list()
        log.info("ingest %s: %d files listed from %s", date, len(candidates), src.description)
        rows: list[ManifestRow] = []
        quarantined: list[QuarantineEntry] = []
        seen: dict[str, str] = {}
        n_accepted = 0
        shard_size = settings.ingest.shard_size
        for cand in tqdm(candidates, desc=f"ingest {date}", unit="file", disable=None):
            verdict, sha, data, size = _judge(cand, src, seen, settings)
            if verdict.accepted:
                shard = n_accepted // shard_size
                n_accepted += 1
                status = "accepted"
            else:
                shard = -1
                status = "duplicate" if verdict.reason_code == "duplicate" else "quarantined"
                copy = copy_to_quarantine(store, date, cand.uri, sha, data)
                code, reason = str(verdict.reason_code), str(verdict.reason)
                quarantined.append(QuarantineEntry(cand.uri, sha, copy, code, reason))
            rows.append(
                ManifestRow(
                    cand.uri,
                    sha,
                    verdict.format,
                    status,
                    verdict.reason_code,
                    verdict.reason,
                    size,
                    verdict.width,
                    verdict.height,
                    shard,
                )
            )
        record_quarantine(database, date, quarantined)
        target = absolute_uri(out) if out else Layout(store).manifest(date)
        manifest_uri = write_manifest(rows, target, store)
    finally:
        if own_db:
            database.dispose()
    n_dup = sum(1 for r in rows if r.status == "duplicate")
    summary = IngestSummary(
        manifest_uri=manifest_uri,
        n_listed=len(rows),
        n_accepted=n_accepted,
        n_quarantined=len(quarantined),
        n_duplicates=n_dup,
        shards=tuple(range(-(-n_accepted // shard_size))),
    )
    reasons = Counter(q.reason_code for q in quarantined)
    log.info(
        "ingest %s: %d listed, %d accepted, %d quarantined (%s), %d shards -> %s",
        date, summary.n_listed, n_accepted, len(quarantined),
        ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())) or "none",
        len(summary.shards), manifest_uri,
    )  # fmt: skip
    return summary
