"""``driftloop reports build|index|prune|serve``."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.config import Settings
from driftloop.constants import EXIT_OK
from driftloop.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from driftloop.storage.db import Database

__all__ = ["register"]

log = logging.getLogger(__name__)


def _read_table(uri: str, what: str) -> pd.DataFrame:
    import pandas as pd

    path = Path(uri)
    if not path.exists():
        raise InputError(f"{what} '{uri}' not found; give a parquet file or a folder of them")
    if path.is_file():
        return pd.read_parquet(path)
    from driftloop.features import read_features  # a folder of part-*.parquet shards

    return read_features(str(path.resolve()))


def _reference(uri: str, settings: Settings) -> pd.DataFrame:
    """A baseline URI (or ``current``), or its reference sample as a .parquet file."""
    if uri.endswith(".parquet"):
        return _read_table(uri, "baseline reference table")
    from driftloop.drift import load_baseline
    from driftloop.storage.artifacts import ArtifactStore

    return load_baseline(uri, ArtifactStore(settings.artifacts_uri)).reference_frame()


def _quarantined(manifest: str | None) -> list[dict[str, str]]:
    if not manifest:
        return []
    frame = _read_table(manifest, "manifest")
    bad = frame[frame["status"] != "accepted"] if "status" in frame.columns else frame.iloc[:0]
    return [
        {"uri": str(r.uri), "reason_code": str(r.reason_code), "reason": str(r.reason)}
        for r in bad.itertuples()
    ]


def _db(settings: Settings, use_db: bool) -> Database | None:
    if not use_db:
        return None
    from driftloop.storage.db import Database

    db = Database(settings.db_url)
    db.check_ready()
    return db


def _cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.reports import render_run_report
    from driftloop.results import DriftResult

    try:
        result = DriftResult.from_json(Path(args.result).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read drift result '{args.result}': {exc}") from None
    links = dict(item.split("=", 1) for item in args.link)
    paths = render_run_report(
        result,
        current_df=_read_table(args.features, "feature table"),
        reference_df=_reference(args.baseline, settings),
        out_dir=args.out,
        settings=settings,
        quarantined=_quarantined(args.manifest),
        links=links,
    )
    print(paths.summary_html)
    return EXIT_OK


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.reports import rebuild_index
    from driftloop.storage.artifacts import ArtifactStore

    print(
        rebuild_index(
            ArtifactStore(settings.artifacts_uri), _db(settings, not args.no_db), settings
        )
    )
    return EXIT_OK


def _cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.reports import prune, rebuild_index
    from driftloop.storage.artifacts import ArtifactStore

    store = ArtifactStore(settings.artifacts_uri)
    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    removed = prune(store, settings, today)
    print(f"removed {len(removed)} run report(s)" + (f": {', '.join(removed)}" if removed else ""))
    rebuild_index(store, _db(settings, not args.no_db), settings)
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.reports.serve import make_server
    from driftloop.storage.artifacts import ArtifactStore, Layout

    root = args.dir or Layout(ArtifactStore(settings.artifacts_uri)).reports_root()
    server = make_server(root, args.port)
    host, port = server.server_address[:2]
    print(f"serving {root} at http://{host!s}:{port}/ (read only; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return EXIT_OK


def _date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None
    return text


def _link(text: str) -> str:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=URL (e.g. airflow_run=http://...)")
    return text


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``driftloop reports ...``."""
    reports = sub.add_parser("reports", help="build, index, prune and serve drift reports")
    rsub = reports.add_subparsers(dest="reports_command", required=True)

    build = rsub.add_parser("build", help="write one run's report folder from a drift.json")
    build.add_argument("--result", required=True, help="drift.json (a DriftResult)")
    build.add_argument("--features", required=True, help="current feature table (parquet/folder)")
    build.add_argument("--baseline", required=True, help="baseline URI or reference .parquet")
    build.add_argument("--out", required=True, help="report folder, e.g. var/reports/2026-11-08")
    build.add_argument("--manifest", help="ingest manifest: quarantined files are shown")
    build.add_argument("--link", action="append", default=[], type=_link, help="NAME=URL")
    build.set_defaults(func=_cmd_build)

    index = rsub.add_parser("index", help="rebuild reports/index.html from every run")
    index.add_argument("--no-db", action="store_true", help="use only the report folders")
    index.set_defaults(func=_cmd_index)

    prune = rsub.add_parser("prune", help="delete run reports older than reports.retention_days")
    prune.add_argument("--today", type=_date, help="reference date (default: today)")
    prune.add_argument("--no-db", action="store_true", help="rebuild the index from folders only")
    prune.set_defaults(func=_cmd_prune)

    serve = rsub.add_parser("serve", help="serve the reports folder on 127.0.0.1 (read only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--dir", help="folder to serve (default: the reports folder)")
    serve.set_defaults(func=_cmd_serve)
