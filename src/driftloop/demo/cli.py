"""``driftloop demo-data``: write the synthetic data set, or draw its contact sheet."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from driftloop.constants import EXIT_OK
from driftloop.errors import InputError

if TYPE_CHECKING:
    from driftloop.config import Settings

__all__ = ["register"]


def _cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    if args.contact_sheet:
        from driftloop.demo.contact_sheet import contact_sheet

        path = contact_sheet(args.contact_sheet, args.data, seed=args.seed)
        print(f"contact sheet written to {path}")
        return EXIT_OK
    if not args.out:
        raise InputError(
            "demo-data needs --out DIR (or --contact-sheet OUT.png); e.g. 'driftloop demo-data --out var/demo'"
        )
    from driftloop.demo import generate_dataset

    info = generate_dataset(
        args.out,
        seed=args.seed,
        size=args.size,
        days=args.days,
        image_size=args.image_size,
        start_date=args.start_date,
        workers=args.workers,
    )
    print(
        json.dumps(
            {
                "root": info.root,
                "counts": info.counts,
                "files": info.n_files,
                "seconds": info.seconds,
            }
        )
    )
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo-data`` command."""
    p = sub.add_parser(
        "demo-data",
        help="write the synthetic brain-MRI demo data set (or its contact sheet)",
        description="Synthetic axial brain MRI (glioma, meningioma, notumor, pituitary) with production days carrying known drift.",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder to write the data set into (empty, or an earlier demo set)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives byte-identical files"
    )
    p.add_argument(
        "--size",
        choices=["tiny", "small", "full"],
        default="small",
        help="tiny ~800, small ~2,000, full ~15,000 images",
    )
    p.add_argument("--days", type=int, default=14, help="production days (default 14)")
    p.add_argument("--start-date", default="2026-11-01", help="first production day, YYYY-MM-DD")
    p.add_argument(
        "--image-size", type=int, default=256, help="side of the square images in pixels"
    )
    p.add_argument("--workers", type=int, default=0, help="processes (0: one per core)")
    p.add_argument(
        "--contact-sheet",
        metavar="OUT.png",
        help="draw a contact sheet instead of writing the data set",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="with --contact-sheet: take samples from this data set instead of rendering",
    )
    p.set_defaults(func=_cmd_demo_data)
