"""The manifest: one parquet row per listed file, accepted or not.

Columns: ``uri, sha256, format, status (accepted|quarantined|duplicate),
reason_code, reason, file_size, width, height, shard``. ``shard`` numbers the
accepted rows in groups of ``settings.ingest.shard_size`` and is -1 for every
row that is not accepted; sizes unknown for a bad file are null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from driftloop.errors import InputError
from driftloop.storage.artifacts import ArtifactStore, is_local

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "ManifestRow", "absolute_uri", "read_manifest", "write_manifest"]

COLUMNS: Final = (
    "uri", "sha256", "format", "status", "reason_code", "reason",
    "file_size", "width", "height", "shard",
)  # fmt: skip
STATUSES: Final = ("accepted", "quarantined", "duplicate")


@dataclass(frozen=True)
class ManifestRow:
    uri: str
    sha256: str | None
    format: str | None
    status: str
    reason_code: str | None
    reason: str | None
    file_size: int | None
    width: int | None
    height: int | None
    shard: int = -1


def absolute_uri(uri: str) -> str:
    """A local path (relative to the working directory, or ``file://``) as an absolute path.

    fsspec URIs come back unchanged. An :class:`ArtifactStore` joins relative keys
    to its root, so a relative path must be made absolute before it reaches one.
    """
    if is_local(uri):
        return str(Path(uri.removeprefix("file://")).resolve())
    return uri.rstrip("/")


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("uri", pa.string()), ("sha256", pa.string()), ("format", pa.string()),
            ("status", pa.string()), ("reason_code", pa.string()), ("reason", pa.string()),
            ("file_size", pa.int64()), ("width", pa.int64()), ("height", pa.int64()),
            ("shard", pa.int32()),
        ]
    )  # fmt: skip


def write_manifest(rows: Sequence[ManifestRow], uri: str, store: ArtifactStore) -> str:
    """Write the manifest atomically to ``uri``; returns the resolved URI."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {name: [getattr(r, name) for r in rows] for name in COLUMNS}
    table = pa.Table.from_pydict(columns, schema=_schema())
    target = store.resolve(uri)
    # A store for the target itself: ``uri`` may live on another filesystem than ``store``.
    with ArtifactStore(target).open_write(target, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
    return target


def read_manifest(uri: str) -> pd.DataFrame:
    """The manifest as a DataFrame (nullable integer columns stay integers)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    given, uri = uri, absolute_uri(uri)
    store = ArtifactStore(uri)  # only its protocol matters: ``uri`` is absolute
    try:
        with store.local_copy(uri) as path:
            table = pq.read_table(path)
    except Exception as exc:
        raise InputError(
            f"cannot read manifest '{given}': {exc}; create it with 'driftloop ingest'"
        ) from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise InputError(f"manifest '{uri}' lacks columns {missing}; re-run 'driftloop ingest'")
    mapping = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}
    return table.to_pandas(types_mapper=mapping.get)
