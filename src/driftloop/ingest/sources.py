"""Where candidate images come from: a folder, an fsspec URI, or the predictions log.

Every source lists :class:`Candidate` s in a stable (sorted) order and reads
their bytes; none of them ever writes to or deletes from the source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from driftloop.errors import InputError

__all__ = [
    "PREDICTIONS_LOG",
    "Candidate",
    "FolderSource",
    "FsspecSource",
    "PredictionsLogSource",
    "Source",
    "open_source",
]

PREDICTIONS_LOG = "predictions-log://"
# Extras that carry fsspec backends, named in the error when one is missing.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure"}


@dataclass(frozen=True)
class Candidate:
    """One file to validate: its URI (local path or full URI) and size if known."""

    uri: str
    size: int | None = None


class Source(Protocol):
    """Lists candidates and reads their bytes."""

    description: str

    def list(self) -> list[Candidate]: ...

    def read(self, uri: str) -> bytes: ...


def _skipped(name: str) -> bool:
    # Hidden files and editor/OS droppings are not candidates (".DS_Store", "._x").
    return name.startswith(".")


class FolderSource:
    """Every non-hidden file under a local folder, recursively."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(str(root).removeprefix("file://")).resolve()
        if not self.root.is_dir():
            raise InputError(
                f"source folder '{self.root}' does not exist or is not a folder; "
                "pass an existing folder, an fsspec URI or predictions-log://"
            )
        self.description = str(self.root)

    def list(self) -> list[Candidate]:
        found = [
            Candidate(str(p), p.stat().st_size)
            for p in self.root.rglob("*")
            if p.is_file() and not any(_skipped(part) for part in p.relative_to(self.root).parts)
        ]
        return sorted(found, key=lambda c: c.uri)

    def read(self, uri: str) -> bytes:
        return Path(uri).read_bytes()


class FsspecSource:
    """Every file under an fsspec URI (``s3://``, ``gs://``, ``memory://`` ...)."""

    def __init__(self, uri: str) -> None:
        import fsspec

        self.uri = uri.rstrip("/")
        self.protocol = uri.split("://", 1)[0]
        self.description = self.uri
        try:
            self.fs, self.path = fsspec.core.url_to_fs(self.uri)
        except (ImportError, ValueError) as exc:
            extra = _EXTRAS.get(self.protocol)
            hint = f"pip install 'driftloop[{extra}]'" if extra else "install its fsspec backend"
            raise InputError(
                f"source '{uri}' needs the fsspec backend for '{self.protocol}' ({exc}); {hint}"
            ) from None
        if not self.fs.exists(self.path):
            raise InputError(f"source '{uri}' does not exist; check the URI and its credentials")

    def _full(self, path: str) -> str:
        return path if "://" in path else f"{self.protocol}://{path.lstrip('/')}"

    def list(self) -> list[Candidate]:
        entries: dict[str, Any] = self.fs.find(self.path, detail=True)
        out = [
            Candidate(self._full(name), info.get("size"))
            for name, info in entries.items()
            if info.get("type", "file") == "file" and not _skipped(name.rsplit("/", 1)[-1])
        ]
        return sorted(out, key=lambda c: c.uri)

    def read(self, uri: str) -> bytes:
        return bytes(self.fs.cat_file(uri.split("://", 1)[1] if "://" in uri else uri))


class PredictionsLogSource:
    """The images the serving side logged during the logical date's UTC day."""

    def __init__(self, logical_date: dt.date, db: Any, store: Any) -> None:
        self.logical_date = logical_date
        self.db = db
        self.store = store
        self.description = f"{PREDICTIONS_LOG} {logical_date.isoformat()}"

    def list(self) -> list[Candidate]:
        from sqlalchemy import select

        from driftloop.storage.models import PredictionLog

        start = dt.datetime.combine(self.logical_date, dt.time(), tzinfo=dt.UTC)
        end = start + dt.timedelta(days=1)
        query = (
            select(PredictionLog.image_uri)
            .where(PredictionLog.received_at >= start, PredictionLog.received_at < end)
            .where(PredictionLog.image_uri.is_not(None))
            .order_by(PredictionLog.received_at, PredictionLog.id)
        )
        with self.db.session() as session:
            uris = [str(u) for u in session.scalars(query)]
        # Relative URIs are keys in the artifact store (predictions/<date>/<sha>.<ext>).
        return [Candidate(self.store.resolve(u)) for u in uris]

    def read(self, uri: str) -> bytes:
        if "://" in uri and not uri.startswith("file://"):
            import fsspec

            with fsspec.open(uri, "rb") as fh:
                return bytes(fh.read())
        return Path(uri.removeprefix("file://")).read_bytes()


def open_source(source: str, logical_date: dt.date, *, db: Any, store: Any) -> Source:
    """The :class:`Source` for a folder path, an fsspec URI or ``predictions-log://``."""
    if not source:
        raise InputError("no source given; pass --source FOLDER|URI|predictions-log://")
    if source.startswith(PREDICTIONS_LOG):
        return PredictionsLogSource(logical_date, db, store)
    if "://" in source and not source.startswith("file://"):
        return FsspecSource(source)
    return FolderSource(source)
