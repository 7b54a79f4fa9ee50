"""The background prediction-log writer: batches rows so logging stays off the hot path.

``/predict`` only puts a dict on a queue; one thread inserts them in batches of
``batch_rows`` or every ``flush_ms``, whichever comes first. ``flush()`` waits
until everything queued so far is committed (feedback needs its row), and
``close()`` drains the queue before returning, so a clean shutdown loses no
row. A failed insert is retried (the rows stay in memory) rather than dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import insert

from driftloop.storage.db import Database
from driftloop.storage.models import PredictionLog

__all__ = ["PredictionLogWriter"]

log = logging.getLogger(__name__)

_RETRY_SECONDS = 0.5
_FINAL_ATTEMPTS = 20


class _Flush:
    """A marker in the queue: set once every row queued before it is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


class _Stop:
    pass


class PredictionLogWriter:
    """Insert ``PredictionLog`` rows from a queue in batches on one thread."""

    def __init__(self, db: Database, *, batch_rows: int = 256, flush_ms: int = 200) -> None:
        self.db = db
        self.batch_rows = batch_rows
        self.flush_seconds = flush_ms / 1000.0
        self._queue: queue.Queue[dict[str, Any] | _Flush | _Stop] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.written = 0
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Rows submitted but not yet committed."""
        return self._pending

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="driftloop-prediction-log", daemon=True
            )
            self._thread.start()

    def submit(self, row: dict[str, Any]) -> None:
        """Queue one row (the columns of ``PredictionLog``)."""
        with self._lock:
            self._pending += 1
        self._queue.put(row)

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until every row submitted before this call is committed."""
        if self._thread is None:
            return self._pending == 0
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self) -> None:
        """Write everything still queued, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(_Stop())
        self._thread.join()
        self._thread = None
        log.info("prediction-log writer stopped: %d rows written", self.written)

    def _run(self) -> None:
        rows: list[dict[str, Any]] = []
        markers: list[_Flush] = []
        stopping = False
        while not stopping:
            deadline = time.monotonic() + self.flush_seconds
            # Collect until the batch is full, the interval passes, or someone waits on it.
            while len(rows) < self.batch_rows and not markers:
                remaining = deadline - time.monotonic()
                if remaining <= 0 and rows:
                    break
                try:
                    item = self._queue.get(timeout=max(remaining, 0.001) if rows else None)
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stopping = True
                    break
                if isinstance(item, _Flush):
                    markers.append(item)
                else:
                    rows.append(item)
            self._write(rows, forever=stopping or bool(markers))
            rows = []
            for marker in markers:
                marker.done.set()
            markers = []

    def _write(self, rows: list[dict[str, Any]], *, forever: bool) -> None:
        attempt = 0
        while rows:
            attempt += 1
            try:
                with self.db.session() as session:
                    session.execute(insert(PredictionLog), rows)
            except Exception as exc:  # keep the rows and retry: a log row is never dropped
                log.error(
                    "writing %d prediction-log rows failed (attempt %d): %s; retrying",
                    len(rows),
                    attempt,
                    exc,
                )
                time.sleep(_RETRY_SECONDS)
                if not forever and attempt >= 3:
                    # Give other work a turn; the rows go back into the queue.
                    for row in rows:
                        self._queue.put(row)
                    return
                if forever and attempt >= _FINAL_ATTEMPTS:
                    # The database stayed down through shutdown: name what was not logged.
                    ids = ", ".join(str(r.get("request_id")) for r in rows)
                    log.error("gave up on %d prediction-log rows: %s", len(rows), ids)
                    with self._lock:
                        self._pending -= len(rows)
                    return
                continue
            with self._lock:
                self._pending -= len(rows)
            self.written += len(rows)
            log.debug("wrote %d prediction-log rows (%d in total)", len(rows), self.written)
            return
