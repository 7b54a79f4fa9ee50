"""``driftloop performance``: one window's realised and estimated performance; calibration."""

from __future__ import annotations

import argparse
import json
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_OK

__all__ = ["register"]


def _resolve_model(ref: str, settings: Settings) -> str:
    from driftloop.model.registry import resolve_model_ref

    return resolve_model_ref(ref, settings)


def _fmt(summary: dict[str, Any]) -> str:
    if summary.get("status") != "ok":
        return f"{summary.get('status', 'absent').replace('_', ' ')} (n={summary.get('n', 0)})"
    return (
        f"accuracy {summary['accuracy']:.3f}, macro F1 "
        f"{'n/a' if summary.get('macro_f1') is None else format(summary['macro_f1'], '.3f')} "
        f"(n={summary['n']})"
    )


def _cmd_window(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.performance.step import SourceName, step_performance

    source: SourceName = args.source or ("labels" if args.labels else "auto")
    model = _resolve_model(args.model, settings) if args.model else None
    out = step_performance(
        settings, args.date, source=source, labels_csv=args.labels, model_uri=model
    )
    if args.json:
        from driftloop.performance.step import load_check
        from driftloop.storage.artifacts import ArtifactStore

        check = load_check(ArtifactStore(settings.artifacts_uri), args.date)
        print(json.dumps({**out, "check": None if check is None else check.to_dict()}, indent=2))
        return EXIT_OK
    print(f"performance {out['run_key']} from {out['source']}")
    print(f"  realised:  {_fmt(out['realised'])}")
    print(f"  estimated: {_fmt(out['estimated'])}")
    if out["breaches"]:
        print(f"  BREACH -> severity at least {out['severity_floor']}:")
        for line in out["breaches"]:
            print(f"    {line}")
    else:
        print("  thresholds: no breach")
    print(f"  written to {out['uri']}")
    return EXIT_OK


def _cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.performance.calibration import calibrate_model

    model = _resolve_model(args.model, settings)
    fitted = calibrate_model(model, args.data, save=not args.dry_run)
    if args.json:
        print(json.dumps(fitted.to_dict(), indent=2))
        return EXIT_OK
    where = "not written (--dry-run)" if args.dry_run else f"{model.rstrip('/')}/calibration.json"
    print(
        f"temperature {fitted.temperature:.3f} on {fitted.n_reference} reference images: "
        f"ECE {fitted.ece_before:.4f} -> {fitted.ece_after:.4f}, "
        f"NLL {fitted.nll_before:.4f} -> {fitted.nll_after:.4f}; {where}"
    )
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``performance`` (one window) and ``performance calibrate``."""
    perf = sub.add_parser(
        "performance",
        help="realised (labels) and estimated (CBPE) model performance for one day",
        description="Measure the window's performance from labels, estimate it without "
        "labels (CBPE), check the thresholds, store the results. "
        "'performance calibrate' fits the calibrator the estimate needs.",
    )
    perf.add_argument("--date", help="logical date YYYY-MM-DD (the window)")
    perf.add_argument(
        "--source",
        choices=["auto", "predictions-log", "labels"],
        help="where labels and probabilities come from (default auto: the predictions log "
        "when it has rows for the day, else the day's feature table + labels CSV)",
    )
    perf.add_argument(
        "--labels", metavar="CSV", help="labels table (file,class) for the feature table"
    )
    perf.add_argument("--model", help="model folder, version or 'current' (default current)")
    perf.add_argument("--json", action="store_true", help="print the full result as JSON")
    perf.set_defaults(func=_cmd_window_checked)
    perf_sub = perf.add_subparsers(dest="performance_command", metavar="SUBCOMMAND")
    cal = perf_sub.add_parser(
        "calibrate", help="fit temperature scaling on the labelled reference set"
    )
    cal.add_argument("--model", required=True, help="model folder, version or 'current'")
    cal.add_argument("--data", required=True, help="reference set: DIR/<class>/*.jpg")
    cal.add_argument("--dry-run", action="store_true", help="fit and print, do not write")
    cal.add_argument("--json", action="store_true", help="print the calibrator as JSON")
    cal.set_defaults(func=_cmd_calibrate)


def _cmd_window_checked(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.errors import InputError

    if not args.date:
        raise InputError(
            "no window given; pass --date YYYY-MM-DD (or use 'driftloop performance calibrate')"
        )
    return _cmd_window(args, settings)
