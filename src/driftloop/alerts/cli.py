"""``driftloop alert --result drift.json`` and ``driftloop alert test --channel NAME``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_ERROR, EXIT_OK
from driftloop.errors import InputError

__all__ = ["register"]

CHANNEL_NAMES = ("slack", "email", "webhook", "pagerduty")


def _cmd_alert(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.alerts import dispatch, send_test
    from driftloop.results import DriftResult
    from driftloop.storage.db import Database

    db = Database(settings.db_url)
    db.check_ready()
    try:
        if args.alert_command == "test":
            outcome = send_test(args.channel, settings, db)
            print(
                f"{outcome.channel}: {outcome.outcome}"
                + (f" ({outcome.error})" if outcome.error else "")
            )
            return EXIT_OK if outcome.outcome == "sent" else EXIT_ERROR
        if not args.result:
            raise InputError("give --result drift.json (or 'driftloop alert test --channel NAME')")
        try:
            result = DriftResult.from_json(Path(args.result).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(f"cannot read drift result '{args.result}': {exc}") from None
        run_key = args.run_key or f"manual:{result.logical_date or Path(args.result).stem}"
        outcomes = dispatch(result, settings, db, run_key=run_key, report_url=args.report_url)
        if not outcomes:
            print("no alert channel is configured (see alerts.* in the settings)")
        for o in outcomes:
            print(f"{o.channel}: {o.kind} {o.outcome}" + (f" ({o.error})" if o.error else ""))
        # Delivery failures are recorded, not fatal: the monitoring run goes on.
        return EXIT_OK
    finally:
        db.dispose()


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``driftloop alert ...``."""
    alert = sub.add_parser("alert", help="send alerts for a drift result, or a test message")
    alert.add_argument("--result", help="drift.json (a DriftResult)")
    alert.add_argument("--run-key", help="run key recorded in the alert history")
    alert.add_argument("--report-url", help="link to the report, shown in the alert")
    alert.set_defaults(func=_cmd_alert, alert_command=None)
    asub = alert.add_subparsers(dest="alert_command")
    test = asub.add_parser("test", help="send a test message on one channel")
    test.add_argument("--channel", required=True, choices=CHANNEL_NAMES)
    test.set_defaults(func=_cmd_alert)
