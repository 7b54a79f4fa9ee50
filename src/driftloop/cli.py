"""The ``driftloop`` command: a thin shell over the library.

Each feature package contributes its subcommands through a ``register(sub)``
function in its own ``cli`` module (listed in ``COMMAND_MODULES``); handlers take
``(args, settings)`` and return an exit code. Heavy libraries (TensorFlow,
Evidently) are imported inside handlers, so ``driftloop --help`` stays fast.

Exit codes: 0 success; 1 a driftloop error (one line on stderr); 2 a usage or
configuration error; 3 ``--fail-on`` severity reached; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence

from driftloop.config import Settings, load_settings, redacted_dict
from driftloop.constants import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, VERSION
from driftloop.errors import DriftloopError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, Settings], int]

# Subcommand providers, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "driftloop.demo.cli",
    "driftloop.ingest.cli",
    "driftloop.features.cli",
    "driftloop.drift.cli",
    "driftloop.model.cli",
    "driftloop.monitor.cli",
    "driftloop.reports.cli",
    "driftloop.alerts.cli",
    "driftloop.performance.cli",
    "driftloop.serve.cli",
    "pipelines.cli",
)

log = logging.getLogger("driftloop")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    noisy_loggers = (
        "tensorflow",
        "absl",
        "h5py",
        "matplotlib",
        "PIL",
        "urllib3",
        "httpx",
        "alembic",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _cmd_config_show(args: argparse.Namespace, settings: Settings) -> int:
    data = redacted_dict(settings)
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")
    return EXIT_OK


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.storage.db import Database, current_revision, downgrade, upgrade

    db = Database(settings.db_url)
    try:
        if args.db_command == "upgrade":
            before = current_revision(db)
            upgrade(db, args.revision)
            after = current_revision(db)
            state = "already at" if before == after else f"migrated {before or 'empty'} ->"
            print(f"database {state} {after}")
        elif args.db_command == "downgrade":
            downgrade(db, args.revision)
            print(f"database at {current_revision(db) or 'base (empty)'}")
        else:
            print(current_revision(db) or "empty (run 'driftloop db upgrade')")
    finally:
        db.dispose()
    return EXIT_OK


def _register_core(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cfg = sub.add_parser("config", help="show the effective settings")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    show = cfg_sub.add_parser("show", help="print settings (secrets redacted)")
    show.add_argument("--format", choices=["yaml", "json"], default="yaml")
    show.set_defaults(func=_cmd_config_show)

    db = sub.add_parser("db", help="create or migrate the database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="create or migrate to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="migrate down (e.g. 'base' drops all)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="print the schema revision")
    for p in (up, down, db_sub.choices["current"]):
        p.set_defaults(func=_cmd_db)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftloop",
        description="Watch production image models for drift, report, alert and retrain.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage/config error, 3 --fail-on reached.",
    )
    parser.add_argument("--config", metavar="PATH", help="YAML settings file (or DRIFTLOOP_CONFIG)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", action="version", version=f"driftloop {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _register_core(sub)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        _configure_logging("DEBUG" if args.debug else settings.log_level)
        handler: Handler = args.func
        return handler(args, settings)
    except DriftloopError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"driftloop: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("driftloop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        # An unexpected error is a bug: always show where it happened.
        traceback.print_exc()
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
