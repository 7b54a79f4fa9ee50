"""``driftloop model ...``: train, evaluate, predict, register, gate, promote, rollback, list."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.config import Settings
from driftloop.constants import EXIT_OK
from driftloop.errors import InputError

if TYPE_CHECKING:
    from driftloop.model.registry import Registry

__all__ = ["register"]


def _actor(args: argparse.Namespace) -> str:
    return str(args.actor or f"cli:{getpass.getuser()}")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


@contextmanager
def _registry(settings: Settings) -> Iterator[Registry]:
    from driftloop.model.registry import Registry
    from driftloop.storage.artifacts import ArtifactStore
    from driftloop.storage.db import Database

    db = Database(settings.db_url)
    try:
        db.check_ready()
        yield Registry(db, ArtifactStore(settings.artifacts_uri))
    finally:
        db.dispose()


def _resolve(ref: str, settings: Settings) -> str:
    from driftloop.model.registry import resolve_model_ref

    return resolve_model_ref(ref, settings)


def _cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.model.training import train

    m = settings.model
    result = train(
        args.data,
        args.out,
        arch=args.arch or m.arch,
        epochs=args.epochs if args.epochs is not None else m.epochs,
        batch_size=args.batch_size or m.batch_size,
        image_size=args.image_size or m.image_size,
        seed=m.seed if args.seed is None else args.seed,
        feedback_dir=args.feedback,
        val_fraction=args.val_fraction,
    )
    _print_json(
        {
            "model_uri": result.model_uri,
            "fingerprint": result.fingerprint,
            "accuracy": result.metrics["accuracy"],
            "macro_auc": result.metrics["macro_auc"],
        }
    )
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.model.evaluation import evaluate

    metrics = evaluate(_resolve(args.model, settings), args.data)
    if args.out:
        Path(args.out).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    _print_json(metrics)
    return EXIT_OK


def _cmd_predict(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.model.predict import predict_dir

    batch = args.batch_size or settings.features.batch_size
    summary = predict_dir(
        _resolve(args.model, settings), args.images, args.out, batch_size=batch, progress=True
    )
    _print_json(summary)
    return EXIT_OK


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with _registry(settings) as reg:
        rows = reg.list()
        current = reg.current_uri()
    if args.json:
        _print_json(
            [
                {
                    "version": r.version,
                    "stage": r.stage,
                    "current": r.uri == current,
                    "macro_auc": r.macro_auc,
                    "arch": r.arch,
                    "created_at": r.created_at,
                    "promoted_at": r.promoted_at,
                    "promoted_by": r.promoted_by,
                    "uri": r.uri,
                }
                for r in rows
            ]
        )
        return EXIT_OK
    if not rows:
        print("no model versions registered; use 'driftloop model register --model DIR'")
        return EXIT_OK
    print(f"  {'VERSION':<30} {'STAGE':<10} {'AUC':>6}  {'ARCH':<16} {'PROMOTED BY':<20} CREATED")
    for r in rows:
        mark = "*" if r.uri == current else " "
        auc = "-" if r.macro_auc is None else f"{r.macro_auc:.3f}"
        created = f"{r.created_at:%Y-%m-%d %H:%M:%S}"
        print(
            f"{mark} {r.version:<30} {r.stage:<10} {auc:>6}  {r.arch:<16} {r.promoted_by or '-':<20} {created}"
        )
    return EXIT_OK


def _cmd_register(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.storage.artifacts import ArtifactStore

    src = ArtifactStore(args.model)
    try:
        metrics = json.loads(src.read_text(src.uri("metrics.json")))
        fingerprint = src.read_text(src.uri("fingerprint.txt")).strip()
    except Exception as exc:
        raise InputError(
            f"'{args.model}' is not a trained model folder ({exc}); train one with 'driftloop model train'"
        ) from None
    params: dict[str, Any] = {}
    if src.exists(src.uri("train.json")):
        params = json.loads(src.read_text(src.uri("train.json")))
    arch = args.arch or params.get("arch") or settings.model.arch
    with _registry(settings) as reg:
        version = reg.register(
            args.model,
            metrics=metrics,
            fingerprint=fingerprint,
            arch=arch,
            details={"train": params},
        )
    print(version)
    return EXIT_OK


def _cmd_gate(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.model.gate import gate_models

    candidate = _resolve(args.candidate, settings)
    champion: str | None = None
    if args.champion == "current":
        with _registry(settings) as reg:
            champion = reg.current_uri()
    elif args.champion != "none":
        champion = _resolve(args.champion, settings)
    decision, _, _ = gate_models(
        candidate, champion, args.data, settings.model.metric_min, settings.model.metric_drop_tol
    )
    text = decision.to_json()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"gate: {decision.status}", file=sys.stderr)
    return EXIT_OK


def _cmd_promote(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.model.registry import forced_decision
    from driftloop.results import GateDecision

    actor = _actor(args)
    if args.force:
        decision = forced_decision(args.version, actor, args.reason or "")
    elif args.decision:
        try:
            decision = GateDecision.from_json(Path(args.decision).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"cannot read gate decision '{args.decision}': {exc}; write one with 'driftloop model gate --out FILE'"
            ) from None
    else:
        raise InputError(
            "promote needs --decision FILE (from 'driftloop model gate') or --force --reason TEXT"
        )
    with _registry(settings) as reg:
        moved = reg.promote(args.version, decision, actor)
        current = reg.current_uri()
    if moved:
        print(f"promoted {args.version} ({decision.status}); current model: {current}")
    elif decision.promote:
        print(f"{args.version} is already current; nothing changed")
    else:
        print(
            f"not promoted: the gate decision is {decision.status}: {'; '.join(decision.reasons)}"
        )
        return 1
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    with _registry(settings) as reg:
        version = reg.rollback(args.to, actor=_actor(args))
        print(f"current model: {version} ({reg.current_uri()})")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``driftloop model ...`` to the CLI."""
    model = sub.add_parser(
        "model", help="train, evaluate, predict, register, gate, promote, roll back"
    )
    msub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")

    p = msub.add_parser("train", help="train a classifier on <data>/<class>/*.jpg")
    p.add_argument("--data", required=True, help="folder with one sub-folder per class")
    p.add_argument("--feedback", help="labelled feedback folder <label>/*.jpg merged into training")
    p.add_argument("--out", required=True, help="output model folder (path or URI)")
    p.add_argument(
        "--arch", choices=["small_cnn", "efficientnet_b0"], help="default: settings.model.arch"
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.set_defaults(func=_cmd_train)

    p = msub.add_parser("evaluate", help="metrics of a model on a labelled folder")
    p.add_argument("--model", required=True, help="model folder, registered version or 'current'")
    p.add_argument("--data", required=True)
    p.add_argument("--out", help="also write the metrics JSON here")
    p.set_defaults(func=_cmd_evaluate)

    p = msub.add_parser("predict", help="predict a folder of images into a parquet file")
    p.add_argument("--model", required=True, help="model folder, registered version or 'current'")
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True, help="parquet file to write")
    p.add_argument("--batch-size", type=int, help="default: settings.features.batch_size")
    p.set_defaults(func=_cmd_predict)

    p = msub.add_parser("list", help="registered versions (* = current)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)

    p = msub.add_parser("register", help="copy a trained model folder into the registry")
    p.add_argument("--model", required=True)
    p.add_argument("--arch", help="default: from the folder's train.json")
    p.set_defaults(func=_cmd_register)

    p = msub.add_parser("gate", help="decide (fail closed) whether a candidate may be promoted")
    p.add_argument("--candidate", required=True, help="model folder or registered version")
    p.add_argument(
        "--champion", default="current", help="model folder, version, 'current' or 'none'"
    )
    p.add_argument("--data", required=True, help="held-out labelled folder both are evaluated on")
    p.add_argument("--out", help="write the GateDecision JSON here")
    p.set_defaults(func=_cmd_gate)

    p = msub.add_parser("promote", help="make a version current (needs a BLESSED gate decision)")
    p.add_argument("--version", required=True)
    p.add_argument("--decision", help="GateDecision JSON from 'driftloop model gate --out'")
    p.add_argument("--force", action="store_true", help="skip the gate (recorded, needs --reason)")
    p.add_argument("--reason", help="why the gate is skipped")
    p.add_argument("--actor", help="who promotes (default: cli:<user>)")
    p.set_defaults(func=_cmd_promote)

    p = msub.add_parser("rollback", help="make the previous champion (or --to VERSION) current")
    p.add_argument("--to", help="version to make current")
    p.add_argument("--actor", help="who rolls back (default: cli:<user>)")
    p.set_defaults(func=_cmd_rollback)
