"""``driftloop extract``: feature table for a manifest."""

from __future__ import annotations

import argparse
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_OK

__all__ = ["register"]


def _cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.features.extract import extract

    summary = extract(args.manifest, args.out, settings, shard=args.shard,
                      model_uri=args.model, workers=args.workers)  # fmt: skip
    print(f"rows {summary.n_rows}, parts {len(summary.uris)}, failed {summary.n_failed}")
    for uri in summary.uris:
        print(uri)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``extract`` to the CLI."""
    p = sub.add_parser(
        "extract",
        help="compute image (and model) features for a manifest",
        description="Write one part-NNNNN.parquet per manifest shard with every catalog feature.",
    )
    p.add_argument("--manifest", required=True, metavar="M", help="manifest parquet from ingest")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the feature parts")
    p.add_argument("--workers", type=int, metavar="N", help="processes (0 = every core)")
    p.add_argument("--shard", type=int, metavar="K", help="only this manifest shard")
    p.add_argument("--model", metavar="URI", help="model folder: add model and tumour features")
    p.set_defaults(func=_cmd_extract)
