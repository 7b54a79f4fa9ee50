"""``extract``: manifest shards -> feature parquet parts, on every core, in flat memory.

Images stream through a process pool (``imap`` in chunks, results in order) and
only the rows of the shard being written are held; a shard becomes
``part-NNNNN.parquet`` as soon as it is complete. An accepted image that can no
longer be decoded (moved, changed since ingest) is logged and counted, never fatal.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.config import Settings
from driftloop.errors import FeatureError, InputError
from driftloop.features.catalog import IMAGE_GROUPS, feature_names
from driftloop.features.compute import features_of
from driftloop.features.image import load_working
from driftloop.storage.artifacts import ArtifactStore, is_local

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExtractSummary", "extract", "part_name", "read_features", "resolve_workers"]

log = logging.getLogger(__name__)
_Task = tuple[str, str, str, int | None]  # uri, sha256, format, file_size


@dataclass(frozen=True)
class ExtractSummary:
    """The parquet parts written and how many rows they hold."""

    uris: tuple[str, ...]
    n_rows: int
    n_failed: int = 0


def part_name(shard: int) -> str:
    return f"part-{shard:05d}.parquet"


def resolve_workers(workers: int | None, settings: Settings) -> int:
    """Worker processes to use: None -> settings, 0 -> one per core."""
    n = settings.features.workers if workers is None else workers
    if n < 0:
        raise InputError(f"workers={n} is negative; use 0 for one per core or a positive count")
    return n or os.cpu_count() or 1


_WORKING_SIZE = 128
_MODEL_SIZE = 0
_IMAGE_COLUMNS = feature_names(*IMAGE_GROUPS)
_COLUMNS = ("uri", "sha256", *_IMAGE_COLUMNS)


def _pool(n_workers: int, init: tuple[int, int]) -> Any:
    """Worker processes forked from a clean server process.

    A plain fork copies the caller's threads' locks mid-flight: inside Airflow
    workers, pytest or a process that already loaded TensorFlow that deadlocks
    now and then. The fork server is a fresh interpreter that has imported only
    this module, so its children start clean and still start fast.
    """
    if os.name != "posix":
        return multiprocessing.get_context("spawn").Pool(
            n_workers, initializer=_init_worker, initargs=init
        )
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx.Pool(n_workers, initializer=_init_worker, initargs=init)


def _init_worker(working_size: int, model_size: int) -> None:
    global _WORKING_SIZE, _MODEL_SIZE
    _WORKING_SIZE, _MODEL_SIZE = working_size, model_size


def _one(task: _Task) -> tuple[tuple[Any, ...] | None, Any, str | None]:
    """Features of one image as a row in ``_COLUMNS`` order (+ the model-input array).

    A tuple pickles several times faster than a dict with the column names, and
    every row crosses the process boundary.
    """
    uri, sha, fmt, size = task
    try:
        work = load_working(uri, _WORKING_SIZE, fmt)
        feats = features_of(work, size)
    except Exception as exc:  # a file changed since ingest must not stop the run
        return None, None, f"{uri}: {type(exc).__name__}: {exc}"
    row = (uri, sha, *[feats[c] for c in _IMAGE_COLUMNS])
    model_input = None
    if _MODEL_SIZE == _WORKING_SIZE:
        model_input = work.pixels  # the working image is already what the model needs
    elif _MODEL_SIZE:
        from driftloop.features.model_features import model_input_array

        model_input = model_input_array(uri, fmt, _MODEL_SIZE)
    return row, model_input, None


def _tasks_by_shard(manifest: pd.DataFrame, shard: int | None) -> dict[int, list[_Task]]:
    import pandas as pd

    accepted = manifest[manifest["status"] == "accepted"]
    if shard is not None:
        known = sorted(int(s) for s in accepted["shard"].unique())
        if shard not in known:
            raise InputError(
                f"shard {shard} is not in the manifest (shards {known}); pick one of them"
            )
        accepted = accepted[accepted["shard"] == shard]
    out: dict[int, list[_Task]] = {}
    for uri, sha, fmt, size, sh in accepted[
        ["uri", "sha256", "format", "file_size", "shard"]
    ].itertuples(index=False, name=None):
        out.setdefault(int(sh), []).append(
            (str(uri), str(sha), str(fmt), None if pd.isna(size) else int(size))
        )
    return out


def _results(tasks: list[_Task], workers: int, init: tuple[int, int], pool: Any) -> Iterator[Any]:
    if pool is None:
        _init_worker(*init)
        yield from map(_one, tasks)
    else:
        chunk = max(1, min(64, len(tasks) // (workers * 4) or 1))
        yield from pool.imap(_one, tasks, chunksize=chunk)


def extract(
    manifest_uri: str,
    out_dir: str,
    settings: Settings,
    *,
    shard: int | None = None,
    model_uri: str | None = None,
    workers: int | None = None,
) -> ExtractSummary:
    """Compute features for the manifest's accepted images; one parquet part per shard."""
    from tqdm import tqdm

    from driftloop.ingest.manifest import absolute_uri, read_manifest

    manifest = read_manifest(manifest_uri)
    out_dir = absolute_uri(out_dir)
    by_shard = _tasks_by_shard(manifest, shard)
    n_workers = resolve_workers(workers, settings)
    total = sum(len(t) for t in by_shard.values())
    store = ArtifactStore(out_dir)
    model = None
    model_size = 0
    if model_uri:
        from driftloop.features.model_features import model_input_size, resolve_model_uri

        model_uri = resolve_model_uri(model_uri, settings)
        model_size = model_input_size(settings)
    init = (settings.features.working_size, model_size)
    pool = None
    if n_workers > 1 and total > 1:
        pool = _pool(n_workers, init)
    uris: list[str] = []
    n_rows = n_failed = 0
    first_error = ""
    try:
        if model_uri:
            from driftloop.model import load_model

            model = load_model(model_uri)
        log.info("extract: %d images in %d shards, %d workers%s", total, len(by_shard),
                 n_workers, f", model {model_uri}" if model_uri else "")  # fmt: skip
        with tqdm(total=total, desc="extract", unit="img", disable=None) as bar:
            for sh, tasks in sorted(by_shard.items()):
                rows: list[tuple[Any, ...]] = []
                inputs: list[Any] = []
                for row, model_input, error in _results(tasks, n_workers, init, pool):
                    bar.update()
                    if row is None:
                        n_failed += 1
                        first_error = first_error or str(error)
                        log.warning("extract: skipped %s", error)
                        continue
                    rows.append(row)
                    inputs.append(model_input)
                uris.append(_write_part(_columns(rows, inputs, model, settings), store, sh))
                n_rows += len(rows)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    log.info("extract: %d rows in %d parts -> %s (%d failed)", n_rows, len(uris), out_dir, n_failed)
    if n_failed and not n_rows:
        # Ingest already decoded every one of these files: when none of them yields
        # features, the fault is in this step or its environment, not in the images.
        raise FeatureError(
            f"feature extraction failed for all {n_failed} accepted images under {out_dir} "
            f"(first error: {first_error}); see the log, fix the cause and rerun the step"
        )
    return ExtractSummary(tuple(uris), n_rows, n_failed)


def _columns(
    rows: list[tuple[Any, ...]], inputs: list[Any], model: Any, settings: Settings
) -> dict[str, list[Any]]:
    """The shard's rows as columns; with a model, its (and the tumour) columns too."""
    if not rows:
        return {c: [] for c in _COLUMNS}
    if model is None:
        return {c: list(v) for c, v in zip(_COLUMNS, zip(*rows, strict=True), strict=True)}
    from driftloop.features.model_features import add_model_features

    dicts = [dict(zip(_COLUMNS, r, strict=True)) for r in rows]
    add_model_features(dicts, inputs, model, settings.features.batch_size)
    return {c: [d.get(c) for d in dicts] for c in dicts[0]}


def _write_part(data: dict[str, list[Any]], store: ArtifactStore, shard: int) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = []
    for c in data:
        if c == "embedding":
            fields.append(pa.field(c, pa.list_(pa.float32())))
        elif c in ("uri", "sha256", "format", "pred_class"):
            fields.append(pa.field(c, pa.string()))
        elif c in ("width", "height", "channels", "bit_depth", "file_size"):
            fields.append(pa.field(c, pa.int64()))
        else:
            fields.append(pa.field(c, pa.float64()))
    table = pa.Table.from_pydict(data, schema=pa.schema(fields))
    uri = store.uri(part_name(shard))
    with store.open_write(uri, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
    return store.resolve(uri)


def _is_file(store: ArtifactStore, uri: str) -> bool:
    return Path(uri).is_file() if is_local(uri) else bool(store.fs.isfile(uri))


def read_features(dir_or_uri: str) -> pd.DataFrame:
    """All feature parts (``part-*.parquet``) under a folder, or one parquet file, as one frame.

    Accepts a path (absolute or relative to the working directory), a ``file://``
    URI or any fsspec URI.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    from driftloop.ingest.manifest import absolute_uri

    target = absolute_uri(dir_or_uri)
    store = ArtifactStore(target)  # only its protocol matters: ``target`` is absolute
    if _is_file(store, target):
        paths = [target]
    else:
        paths = [
            u
            for u in store.listdir(target)
            if re.fullmatch(r"part-.*\.parquet", u.rsplit("/", 1)[-1])
        ]
    if not paths:
        raise FeatureError(
            f"no feature parts (part-*.parquet) under '{dir_or_uri}' ({target}); "
            "run 'driftloop extract' first or pass the folder it wrote"
        )
    frames = []
    for p in sorted(paths):
        with store.local_copy(p) as local:
            frames.append(pq.read_table(local).to_pandas())
    return pd.concat(frames, ignore_index=True)
