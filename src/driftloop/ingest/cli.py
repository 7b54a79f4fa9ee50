"""``driftloop ingest``: validate a source's images for one logical date."""

from __future__ import annotations

import argparse
import json
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_OK

__all__ = ["register"]


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from driftloop.ingest.core import ingest

    summary = ingest(args.source, args.date, settings, out=args.out)
    if args.json:
        print(json.dumps(asdict(summary)))
    else:
        print(
            f"listed {summary.n_listed}, accepted {summary.n_accepted}, "
            f"quarantined {summary.n_quarantined} (of which duplicates {summary.n_duplicates}), "
            f"shards {len(summary.shards)}\nmanifest {summary.manifest_uri}"
        )
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ingest`` to the CLI."""
    p = sub.add_parser(
        "ingest",
        help="validate a day's images, quarantine bad ones, write the manifest",
        description="List SOURCE, validate every file, copy bad ones to quarantine/<date>/ "
        "with a database row, and write the manifest parquet.",
    )
    p.add_argument("--source", required=True, metavar="URI",
                   help="folder, fsspec URI (s3://, gs://, ...) or predictions-log://")  # fmt: skip
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="logical date of the run")
    p.add_argument("--out", metavar="MANIFEST",
                   help="manifest URI (default runs/<date>/manifest.parquet)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_ingest)
