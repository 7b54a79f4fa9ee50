"""``driftloop check``, ``driftloop monitor run`` and ``driftloop monitor step NAME``.

``monitor step`` is what a Kubernetes pod runs for one DAG task: it prints the
step's result as JSON and, with ``--xcom PATH``, writes it where the
KubernetesPodOperator's sidecar collects the XCom.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_DRIFT, EXIT_OK
from driftloop.errors import InputError

__all__ = ["register"]

STEP_NAMES = (
    "ingest",
    "extract",
    "performance",
    "compare",
    "report",
    "alert",
    "decide",
    "launch",
    "schedule",
    "finish",
)
LEVELS = ("low", "medium", "high")


def _emit(data: Any, xcom: str | None, field: str | None = None) -> None:
    print(json.dumps(data, indent=2, default=str))
    if xcom:
        if field is not None:
            if not isinstance(data, dict) or field not in data:
                raise InputError(
                    f"--xcom-field '{field}' is not in the step's result; "
                    f"choose one of {', '.join(data) if isinstance(data, dict) else 'none'}"
                )
            data = data[field]
        path = Path(xcom)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, default=str), encoding="utf-8")


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.monitor.chain import reaches, run_check

    if args.fail_on:
        reaches("none", args.fail_on)  # validate before the (long) work
    result = run_check(
        settings,
        baseline=args.baseline,
        images=args.images,
        out_dir=Path(args.out),
        logical_date=args.date,
        model_uri=args.model,
    )
    print(
        f"severity {result['severity']} (drift_detected={str(result['drift_detected']).lower()}), "
        f"{result['n_current']} current vs {result['n_reference']} reference images, "
        f"{result['n_quarantined']} quarantined; wrote {Path(args.out) / 'drift.json'}"
    )
    if args.fail_on and reaches(str(result["severity"]), args.fail_on):
        print(
            f"driftloop: severity {result['severity']} reached --fail-on {args.fail_on}",
            file=sys.stderr,
        )
        return EXIT_DRIFT
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.monitor.chain import run_monitoring

    out = run_monitoring(
        settings,
        args.date,
        args.source,
        baseline=args.baseline,
        force_retrain=args.force_retrain,
        dry_run=args.dry_run,
        retrain_severity=args.retrain_severity,
    )
    _emit(out, None)
    return EXIT_OK


def _cmd_step(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.monitor import branch, steps
    from driftloop.monitor.performance import step_performance
    from driftloop.monitor.runs import get_run, open_context, parse_day

    name = args.step
    out: Any
    if name == "ingest":
        out = steps.step_ingest(settings, args.date, args.source)
    elif name == "extract":
        out = steps.step_extract(settings, args.date, args.manifest, args.shard)
    elif name == "performance":
        out = step_performance(settings, args.date)
    elif name == "compare":
        out = steps.step_compare(settings, args.date, args.baseline)
    elif name == "report":
        out = steps.step_report(settings, args.date)
    elif name == "alert":
        out = steps.step_alert(settings, args.date, dry_run=args.dry_run)
    elif name == "decide":
        with open_context(settings) as ctx:
            severity = get_run(ctx.db, parse_day(args.date)).severity or "insufficient_data"
        out = {
            "severity": severity,
            "decision": branch.decide(
                severity, args.force_retrain, settings, retrain_severity=args.retrain_severity
            ),
        }
    elif name == "launch":
        out = branch.step_launch(
            settings, args.date, trigger="forced" if args.force_retrain else "drift"
        )
    elif name == "schedule":
        out = branch.step_schedule(settings, args.date)
    else:
        if args.decision not in branch.DECISIONS:
            raise InputError(
                f"--decision '{args.decision}' is not one of {', '.join(branch.DECISIONS)}"
            )
        out = branch.finish_run(settings, args.date, args.decision, links={})
    _emit(out, args.xcom, args.xcom_field)
    return EXIT_OK


def _common(p: argparse.ArgumentParser, *, date_required: bool = True) -> None:
    p.add_argument(
        "--date",
        required=date_required,
        metavar="YYYY-MM-DD",
        help="logical date of the run (reruns of a date overwrite it)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check`` and ``monitor`` to the driftloop CLI."""
    check = sub.add_parser(
        "check",
        help="ingest, extract, compare and report a folder against a baseline",
        description="Writes OUTDIR/drift.json and OUTDIR/report/. Exit 3 when --fail-on is reached.",
    )
    check.add_argument(
        "--baseline", required=True, metavar="URI", help="baseline profile URI, or 'current'"
    )
    check.add_argument("--images", required=True, metavar="DIR", help="folder or URI of images")
    check.add_argument("--out", required=True, metavar="OUTDIR", help="where drift.json goes")
    check.add_argument("--model", metavar="URI", help="model for model-side features (optional)")
    check.add_argument(
        "--fail-on",
        choices=LEVELS,
        metavar="LEVEL",
        help="exit 3 when severity reaches LEVEL (low, medium, high)",
    )
    _common(check, date_required=False)
    check.set_defaults(func=_cmd_check)

    monitor = sub.add_parser("monitor", help="run the monitoring chain or one of its steps")
    msub = monitor.add_subparsers(dest="monitor_command", required=True)

    run = msub.add_parser("run", help="every step of the monitoring DAG, in process (no Airflow)")
    _common(run)
    run.add_argument(
        "--source", metavar="URI", help="images URI ({date} is replaced); default monitor.source"
    )
    run.add_argument("--baseline", default="current", metavar="URI")
    run.add_argument("--force-retrain", action="store_true")
    run.add_argument("--dry-run", action="store_true", help="send no alerts")
    run.add_argument("--retrain-severity", choices=("none", *LEVELS))
    run.set_defaults(func=_cmd_run)

    step = msub.add_parser("step", help="one step of the monitoring DAG (what a pod runs)")
    step.add_argument("step", choices=STEP_NAMES)
    _common(step)
    step.add_argument("--source", metavar="URI")
    step.add_argument("--manifest", metavar="URI")
    step.add_argument("--shard", type=int)
    step.add_argument("--baseline", default="current", metavar="URI")
    step.add_argument("--dry-run", action="store_true")
    step.add_argument("--force-retrain", action="store_true")
    step.add_argument("--retrain-severity", choices=("none", *LEVELS))
    step.add_argument(
        "--xcom",
        metavar="PATH",
        help="also write the JSON result here (e.g. /airflow/xcom/return.json)",
    )
    step.add_argument("--xcom-field", metavar="KEY", help="write only this key of the result")
    step.add_argument("--decision", metavar="BRANCH", help="for 'finish': the branch taken")
    step.set_defaults(func=_cmd_step)
