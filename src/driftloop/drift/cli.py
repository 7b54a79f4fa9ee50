"""``driftloop baseline build|merge|show`` and ``driftloop compare``."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_DRIFT, EXIT_OK
from driftloop.errors import InputError

__all__ = ["read_feature_table", "register"]

log = logging.getLogger(__name__)
LEVELS = ("low", "medium", "high")


def read_feature_table(path: str) -> Any:
    """A feature table from a parquet file or a folder of parquet parts."""
    import pandas as pd

    # The features package may not offer read_features yet; a plain parquet read is equivalent.
    read_features = getattr(importlib.import_module("driftloop.features"), "read_features", None)
    if "://" not in path and not Path(path).exists():
        raise InputError(
            f"feature table '{path}' not found; pass a parquet file or folder from 'driftloop extract'"
        )
    path = _abs(path) or path
    try:
        return read_features(path) if read_features else pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read feature table '{path}': {exc}; pass a parquet file"
        ) from None


def _abs(uri: str | None) -> str | None:
    """Relative CLI paths mean the working folder, not the artifact root."""
    if uri is None or "://" in uri:
        return uri
    return str(Path(uri).resolve())


def _model_version(model_uri: str) -> str:
    path = Path(model_uri.rstrip("/"))
    return path.parent.name if path.suffix == ".keras" else path.name


def _features_from_images(
    images: str, model: str | None, settings: Settings, store: Any, db: Any
) -> Any:
    # Lazy: ingest/extract pull in PIL, pydicom and, with a model, TensorFlow.
    features = importlib.import_module("driftloop.features")
    ingest = importlib.import_module("driftloop.ingest").ingest
    extract, read_features = features.extract, features.read_features

    if not Path(images).is_dir():
        raise InputError(f"--images '{images}' is not a folder; pass the reference images folder")
    with tempfile.TemporaryDirectory(prefix="driftloop-baseline-") as tmp:
        summary = ingest(
            images, dt.date.today(), settings, db=db, store=store, out=f"{tmp}/manifest.parquet"
        )
        log.info(
            "baseline images: %d accepted, %d quarantined",
            summary.n_accepted,
            summary.n_quarantined,
        )
        extract(summary.manifest_uri, f"{tmp}/features", settings, model_uri=model)
        return read_features(f"{tmp}/features")


def _stores(settings: Settings) -> tuple[Any, Any]:
    from driftloop.storage.artifacts import ArtifactStore
    from driftloop.storage.db import Database, upgrade

    db = Database(settings.db_url)
    upgrade(db)
    return ArtifactStore(settings.artifacts_uri), db


def _cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.drift import build_baseline, save_baseline

    store, db = _stores(settings)
    try:
        if args.images:
            df = _features_from_images(args.images, args.model, settings, store, db)
        else:
            df = read_feature_table(args.features)
        model_version = _model_version(args.model) if args.model else None
        baseline = build_baseline(df, settings=settings, model_version=model_version)
        uri = save_baseline(
            baseline, store, db, make_current=not args.no_current, uri=_abs(args.out)
        )
    finally:
        db.dispose()
    print(
        f"baseline {baseline.version}: {baseline.n_rows} rows, "
        f"{len(baseline.columns)} features -> {uri}"
    )
    return EXIT_OK


def _cmd_merge(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.drift import load_baseline, merge_baselines, save_baseline

    store, db = _stores(settings)
    try:
        parts = [load_baseline(_abs(uri) or uri, store) for uri in args.baselines]
        merged = merge_baselines(parts, reservoir_size=settings.drift.reservoir_size)
        uri = save_baseline(merged, store, db, make_current=not args.no_current, uri=_abs(args.out))
    finally:
        db.dispose()
    print(f"merged {len(parts)} baselines into {merged.version} ({merged.n_rows} rows) -> {uri}")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.drift import load_baseline
    from driftloop.storage.artifacts import ArtifactStore

    uri = args.uri if args.uri == "current" else _abs(args.uri) or args.uri
    b = load_baseline(uri, ArtifactStore(settings.artifacts_uri))
    summary = {
        "version": b.version,
        "uri": b.uri,
        "created_at": b.created_at,
        "n_rows": b.n_rows,
        "n_reservoir": len(b.reservoir),
        "model_version": b.model_version,
        "data_fingerprint": b.data_fingerprint,
        "features": {c.name: c.kind for c in b.columns},
        "class_counts": b.class_counts,
        "embedding_components": None if b.projection is None else len(b.projection.components),
    }
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.drift import compare, load_baseline
    from driftloop.storage.artifacts import ArtifactStore

    store = ArtifactStore(settings.artifacts_uri)
    uri = args.baseline if args.baseline == "current" else _abs(args.baseline) or args.baseline
    baseline = load_baseline(uri, store)
    current = read_feature_table(args.features)
    result = compare(
        baseline, current, settings, n_quarantined=args.n_quarantined, logical_date=args.date
    )
    out = _abs(args.out) or args.out
    store.write_text(out, result.to_json())
    drifted = len(result.drifted_features)
    print(
        f"severity {result.severity}: {drifted}/{len(result.features)} tests drifted "
        f"({result.n_current} current vs {result.n_reference} reference rows) -> {out}"
    )
    from driftloop.results import SEVERITY_ORDER

    if args.fail_on and result.severity_rank >= SEVERITY_ORDER[args.fail_on]:
        return EXIT_DRIFT
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``baseline`` and ``compare`` to the ``driftloop`` command."""
    baseline = sub.add_parser("baseline", help="build, merge and show baseline profiles")
    bsub = baseline.add_subparsers(dest="baseline_command", required=True)

    build = bsub.add_parser("build", help="profile reference images or a feature table")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", metavar="DIR", help="folder of reference images")
    source.add_argument("--features", metavar="F", help="feature table (parquet file or folder)")
    build.add_argument("--model", metavar="URI", help="model for the model-side features")
    build.add_argument("--out", metavar="URI", help="baseline folder (default baselines/<version>)")
    build.add_argument("--no-current", action="store_true", help="do not make it the current one")
    build.set_defaults(func=_cmd_build)

    merge = bsub.add_parser("merge", help="combine baselines of shards into one")
    merge.add_argument("baselines", nargs="+", metavar="URI")
    merge.add_argument("--out", metavar="URI", help="baseline folder (default baselines/<version>)")
    merge.add_argument("--no-current", action="store_true", help="do not make it the current one")
    merge.set_defaults(func=_cmd_merge)

    show = bsub.add_parser("show", help="print a baseline's summary as JSON")
    show.add_argument("uri", nargs="?", default="current", help="baseline folder or 'current'")
    show.set_defaults(func=_cmd_show)

    cmp = sub.add_parser("compare", help="test a feature table against a baseline")
    cmp.add_argument("--baseline", default="current", metavar="URI", help="baseline or 'current'")
    cmp.add_argument("--features", required=True, metavar="F", help="current feature table")
    cmp.add_argument("--out", required=True, metavar="URI", help="where to write drift.json")
    cmp.add_argument("--fail-on", choices=LEVELS, help="exit 3 when the severity reaches LEVEL")
    cmp.add_argument(
        "--n-quarantined", type=int, default=0, help="quarantined images, for the record"
    )
    cmp.add_argument("--date", help="logical date (YYYY-MM-DD) to record")
    cmp.set_defaults(func=_cmd_compare)
