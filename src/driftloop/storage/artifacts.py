"""The artifact store: every file a step writes lives under one root URI.

The root is a local folder by default or any fsspec URI (``s3://bucket/x``,
``gs://...``; install ``driftloop[s3]`` / ``driftloop[gcs]``). Writes are atomic:
locally a temporary file in the same folder is renamed over the target; object
stores make a single PUT visible at once. Run outputs are laid out by logical
date (:class:`Layout`), so a rerun of the same date overwrites the same place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from driftloop.errors import StorageError

__all__ = ["ArtifactStore", "Layout", "is_local"]


def is_local(uri: str) -> bool:
    """True for plain paths and ``file://`` URIs."""
    return "://" not in uri or uri.startswith("file://")


def _strip_file(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


class ArtifactStore:
    """Read and write files under a root URI; relative keys are joined to it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = str(root)
        self.local = is_local(root)
        self.root = str(Path(_strip_file(root)).resolve()) if self.local else root.rstrip("/")
        self._fs: Any = None

    # -- addressing -------------------------------------------------------
    def uri(self, *parts: str) -> str:
        """The URI of ``parts`` joined under the root."""
        key = "/".join(p.strip("/") for p in parts if p)
        return f"{self.root}/{key}" if key else self.root

    def resolve(self, uri_or_key: str) -> str:
        """Accept an absolute URI/path or a key relative to the root."""
        if "://" in uri_or_key or os.path.isabs(uri_or_key):
            return _strip_file(uri_or_key)
        return self.uri(uri_or_key)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem for a remote root (imported lazily)."""
        if self._fs is None:
            import fsspec

            protocol = self.root.split("://", 1)[0]
            try:
                self._fs = fsspec.filesystem(protocol)
            except (ImportError, ValueError) as exc:
                raise StorageError(
                    f"artifact root '{self.root}' needs the fsspec backend for '{protocol}': "
                    f"{exc}; install it, e.g. pip install 'driftloop[s3]'"
                ) from None
        return self._fs

    # -- reading ----------------------------------------------------------
    def exists(self, uri: str) -> bool:
        path = self.resolve(uri)
        return Path(path).exists() if is_local(path) else bool(self.fs.exists(path))

    def read_bytes(self, uri: str) -> bytes:
        path = self.resolve(uri)
        try:
            if is_local(path):
                return Path(path).read_bytes()
            return bytes(self.fs.cat_file(path))
        except FileNotFoundError:
            raise StorageError(f"artifact '{path}' not found") from None

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def listdir(self, uri: str) -> list[str]:
        """Full URIs of the entries directly under ``uri`` (sorted; [] if missing)."""
        path = self.resolve(uri)
        if is_local(path):
            p = Path(path)
            return sorted(str(c) for c in p.iterdir()) if p.is_dir() else []
        if not self.fs.exists(path):
            return []
        return sorted(
            e if "://" in e else str(self.fs.unstrip_protocol(e).replace(":///", "://"))
            for e in self.fs.ls(path, detail=False)
        )

    @contextlib.contextmanager
    def local_copy(self, uri: str) -> Iterator[Path]:
        """A local path holding the artifact (the file itself when the store is local)."""
        path = self.resolve(uri)
        if is_local(path):
            if not Path(path).exists():
                raise StorageError(f"artifact '{path}' not found")
            yield Path(path)
            return
        with tempfile.TemporaryDirectory(prefix="driftloop-") as tmp:
            local = Path(tmp) / Path(path).name
            self.fs.get(path, str(local), recursive=True)
            yield local

    # -- writing (atomic) -------------------------------------------------
    @contextlib.contextmanager
    def open_write(self, uri: str, suffix: str = "") -> Iterator[Path]:
        """Yield a temporary local path; on success it becomes ``uri`` in one step.

        On error the temporary file is removed and ``uri`` keeps its old content.
        """
        path = self.resolve(uri)
        if is_local(path):
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent
            )
            os.close(fd)
            try:
                yield Path(tmp)
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            return
        with tempfile.TemporaryDirectory(prefix="driftloop-") as tmpdir:
            local = Path(tmpdir) / (Path(path).name + suffix)
            yield local
            self.fs.put_file(str(local), path)

    def write_bytes(self, uri: str, data: bytes) -> str:
        with self.open_write(uri) as tmp:
            tmp.write_bytes(data)
        return self.resolve(uri)

    def write_text(self, uri: str, text: str) -> str:
        return self.write_bytes(uri, text.encode("utf-8"))

    def put_file(self, local: str | os.PathLike[str], uri: str) -> str:
        """Copy a local file to ``uri`` atomically."""
        with self.open_write(uri) as tmp:
            shutil.copyfile(local, tmp)
        return self.resolve(uri)

    def put_dir(self, local: str | os.PathLike[str], uri: str) -> str:
        """Copy a local folder to ``uri``; locally the folder appears in one rename."""
        path = self.resolve(uri)
        if is_local(path):
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            try:
                shutil.copytree(local, staging, dirs_exist_ok=True)
                if target.exists():
                    old = target.with_name(f".{target.name}.old-{os.getpid()}")
                    os.replace(target, old)
                    os.replace(staging, target)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return path
        self.fs.put(str(local), path, recursive=True)
        return path

    def remove(self, uri: str) -> None:
        """Delete a file or folder (missing is fine)."""
        path = self.resolve(uri)
        if is_local(path):
            p = Path(path)
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
        elif self.fs.exists(path):
            self.fs.rm(path, recursive=True)


class Layout:
    """Where each artifact lives under the store root. One place, so paths never drift."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @staticmethod
    def day(date: dt.date | str) -> str:
        return date if isinstance(date, str) else date.isoformat()

    def run_dir(self, date: dt.date | str) -> str:
        return self.store.uri("runs", self.day(date))

    def manifest(self, date: dt.date | str) -> str:
        return self.store.uri("runs", self.day(date), "manifest.parquet")

    def features_dir(self, date: dt.date | str) -> str:
        return self.store.uri("runs", self.day(date), "features")

    def drift_json(self, date: dt.date | str) -> str:
        return self.store.uri("runs", self.day(date), "drift.json")

    def quarantine_dir(self, date: dt.date | str) -> str:
        return self.store.uri("quarantine", self.day(date))

    def reports_root(self) -> str:
        return self.store.uri("reports")

    def report_dir(self, date: dt.date | str) -> str:
        return self.store.uri("reports", self.day(date))

    def baselines_dir(self) -> str:
        return self.store.uri("baselines")

    def models_dir(self) -> str:
        return self.store.uri("models")

    def feedback_dir(self) -> str:
        return self.store.uri("feedback")

    def predictions_dir(self) -> str:
        return self.store.uri("predictions")

    def pipeline_root(self) -> str:
        return self.store.uri("pipelines")
