"""``driftloop pipeline ...``: compile, upload, run and inspect the retraining pipeline.

Also ``driftloop pipeline step NAME``: the entrypoint the container components run
in the steps image (one per pipeline step, calling :mod:`components.steps`).
kfp is imported inside the handlers, so ``driftloop --help`` stays fast and a
missing kfp is reported only by the commands that need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_ERROR, EXIT_OK
from driftloop.errors import PipelineError

__all__ = ["parse_params", "register"]

_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _require_kfp() -> None:
    try:
        import kfp  # noqa: F401
    except ImportError:
        raise PipelineError(
            "this command needs the KFP SDK; install it with: pip install 'driftloop[kfp]'"
        ) from None


def _as_bool(text: str) -> bool:
    try:
        return _BOOL[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a boolean (true/false)") from None


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["epochs=2", "arch=small_cnn"]`` -> typed values, per the pipeline's declared types."""
    from pipelines.retrain import retrain_pipeline

    inputs = retrain_pipeline.component_spec.inputs
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise PipelineError(f"--param '{pair}' is not NAME=VALUE (e.g. --param epochs=2)")
        if name not in inputs:
            raise PipelineError(
                f"unknown pipeline parameter '{name}'; valid: {', '.join(sorted(inputs))}"
            )
        kind = inputs[name].type
        try:
            if kind == "Integer":
                params[name] = int(raw)
            elif kind == "Float":
                params[name] = float(raw)
            elif kind == "Boolean":
                params[name] = _as_bool(raw)
            else:
                params[name] = raw
        except (ValueError, argparse.ArgumentTypeError):
            raise PipelineError(f"--param {name}={raw!r} is not a valid {kind.lower()}") from None
    return params


def _print_info(info: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(info.to_dict(), indent=2, default=str))
        return
    note = " (already in flight: not launching another)" if info.deduplicated else ""
    print(f"run {info.run_id} [{info.backend}] {info.status}{note}")
    if info.ui_url:
        print(f"  link: {info.ui_url}")
    if info.gate:
        status = info.gate.get("status", "?")
        reasons = "; ".join(info.gate.get("reasons", []))
        print(f"  gate: {status} {info.gate.get('candidate_version') or ''} ({reasons})")


def _cmd_compile(args: argparse.Namespace, settings: Settings) -> int:
    _require_kfp()
    from pipelines.retrain import compile_pipeline

    print(f"compiled {compile_pipeline(args.out)}")
    return EXIT_OK


def _cmd_upload(args: argparse.Namespace, settings: Settings) -> int:
    _require_kfp()
    from pipelines.launcher import upload

    pipeline_id, version_id = upload(
        settings, host=args.host, name=args.name, version=args.version, package=args.package
    )
    print(f"pipeline {pipeline_id} version {version_id} on {args.host or settings.kfp.host}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    _require_kfp()
    from pipelines.launcher import launch

    host = "" if args.local else args.host
    run_settings = settings.model_copy(
        update={"kfp": settings.kfp.model_copy(update={"host": host})}
    )
    if args.timeout is not None:
        run_settings.kfp.timeout_seconds = args.timeout
    info = launch(
        run_settings,
        parse_params(args.param),
        wait=args.wait,
        trigger=args.trigger,
        run_key=args.run_key,
    )
    _print_info(info, args.json)
    if info.status in ("failed", "error", "canceled"):
        return EXIT_ERROR
    return EXIT_OK


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.launcher import run_status

    if args.host:
        settings = settings.model_copy(
            update={"kfp": settings.kfp.model_copy(update={"host": args.host})}
        )
    info = run_status(settings, args.run_id)
    _print_info(info, args.json)
    return EXIT_ERROR if info.status in ("failed", "error", "canceled") else EXIT_OK


def _register_run_commands(psub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    comp = psub.add_parser("compile", help="compile the pipeline to YAML (commit the result)")
    comp.add_argument("--out", default="pipelines/retrain.yaml", help="output file")
    comp.set_defaults(func=_cmd_compile)

    up = psub.add_parser("upload", help="upload the pipeline (and a version) to a KFP server")
    up.add_argument("--host", help="KFP API URL (default: kfp.host)")
    up.add_argument("--name", help="pipeline name (default: kfp.pipeline_name)")
    up.add_argument("--version", help="version name (default: <driftloop version>-<package hash>)")
    up.add_argument("--package", help="compiled YAML (default: pipelines/retrain.yaml)")
    up.set_defaults(func=_cmd_upload)

    run = psub.add_parser("run", help="launch a retraining run on KFP or under kfp.local")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="KFP API URL")
    where.add_argument("--local", action="store_true", help="run here under kfp.local (waits)")
    run.add_argument("--wait", action="store_true", help="wait; exit 1 if the run fails")
    run.add_argument(
        "--timeout", type=float, help="seconds --wait waits (default: kfp.timeout_seconds)"
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="pipeline parameter (repeatable), e.g. --param epochs=2 --param data_uri=DIR",
    )
    run.add_argument("--trigger", default="manual", help="recorded as the run's trigger")
    run.add_argument("--run-key", help="recorded with the run (e.g. the monitoring run's key)")
    run.add_argument("--json", action="store_true", help="print the run as JSON")
    run.set_defaults(func=_cmd_run)

    st = psub.add_parser("status", help="show a run's status, link and gate decision")
    st.add_argument("run_id")
    st.add_argument("--host", help="KFP API URL to ask when the run is not recorded here")
    st.add_argument("--json", action="store_true", help="print the run as JSON")
    st.set_defaults(func=_cmd_status)


# -- the steps the container components run -------------------------------------


def _step(args: argparse.Namespace, settings: Settings) -> int:
    from components import data, steps

    name = args.step
    if name == "prepare-data":
        result = data.prepare_data(
            args.data_uri,
            args.train_out,
            args.holdout_out,
            feedback_uri=args.feedback_uri,
            database_url=args.database_url,
            include_production=args.include_production,
            holdout_fraction=args.holdout_fraction,
            seed=args.seed,
        )
        print(json.dumps(result.to_dict()))
    elif name == "train":
        steps.train_step(
            args.train_data,
            args.model_out,
            args.metrics_out,
            arch=args.arch,
            epochs=args.epochs,
            batch_size=args.batch_size,
            image_size=args.image_size,
            seed=args.seed,
        )
    elif name == "evaluate":
        steps.evaluate_step(
            args.model,
            args.holdout_data,
            args.candidate_out,
            args.champion_out,
            artifact_root=args.artifact_root,
            database_url=args.database_url,
        )
    elif name == "gate":
        decision = steps.gate_step(
            args.model,
            args.train_data,
            args.candidate_metrics,
            args.champion_metrics,
            args.decision_out,
            args.status_out,
            arch=args.arch,
            metric_min=args.metric_min,
            metric_drop_tol=args.metric_drop_tol,
            artifact_root=args.artifact_root,
            database_url=args.database_url,
            pipeline_run_id=args.pipeline_run_id,
        )
        print(decision.to_json(indent=None))
    elif name == "promote":
        steps.promote_step(
            args.decision,
            args.train_data,
            artifact_root=args.artifact_root,
            database_url=args.database_url,
            refresh=args.refresh_baseline,
        )
    else:
        steps.reject_step(
            args.decision, artifact_root=args.artifact_root, database_url=args.database_url
        )
    sys.stdout.flush()
    return EXIT_OK


def _register_steps(psub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    step = psub.add_parser("step", help="run one pipeline step (what the components run)")
    ssub = step.add_subparsers(dest="step", required=True)

    def add(name: str, help_text: str, *options: tuple[str, type | Any]) -> None:
        parser = ssub.add_parser(name, help=help_text)
        for flag, kind in options:
            parser.add_argument(
                flag, type=kind, default="" if kind is str else None, required=kind is not str
            )
        parser.set_defaults(func=_step)

    store = (("--artifact-root", str), ("--database-url", str))
    add(
        "prepare-data",
        "gather, split and fingerprint labelled images",
        ("--data-uri", _nonempty),
        ("--feedback-uri", str),
        ("--database-url", str),
        ("--include-production", _as_bool),
        ("--holdout-fraction", float),
        ("--seed", int),
        ("--train-out", _nonempty),
        ("--holdout-out", _nonempty),
    )
    add(
        "train",
        "train a candidate",
        ("--train-data", _nonempty),
        ("--arch", _nonempty),
        ("--epochs", int),
        ("--batch-size", int),
        ("--image-size", int),
        ("--seed", int),
        ("--model-out", _nonempty),
        ("--metrics-out", _nonempty),
    )
    add(
        "evaluate",
        "evaluate candidate and champion on the held-out split",
        ("--model", _nonempty),
        ("--holdout-data", _nonempty),
        *store,
        ("--candidate-out", _nonempty),
        ("--champion-out", _nonempty),
    )
    add(
        "gate",
        "register the candidate and decide BLESSED / NOT_BLESSED",
        ("--model", _nonempty),
        ("--train-data", _nonempty),
        ("--candidate-metrics", _nonempty),
        ("--champion-metrics", _nonempty),
        ("--arch", _nonempty),
        ("--metric-min", float),
        ("--metric-drop-tol", float),
        *store,
        ("--pipeline-run-id", str),
        ("--decision-out", _nonempty),
        ("--status-out", _nonempty),
    )
    add(
        "promote",
        "promote a BLESSED candidate and refresh the baseline",
        ("--decision", _nonempty),
        ("--train-data", _nonempty),
        *store,
        ("--refresh-baseline", _as_bool),
    )
    add("reject", "record a NOT_BLESSED decision", ("--decision", _nonempty), *store)


def _nonempty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``driftloop pipeline ...`` to the CLI."""
    pipeline = sub.add_parser("pipeline", help="Kubeflow retraining pipeline: compile, upload, run")
    psub = pipeline.add_subparsers(dest="pipeline_command", required=True)
    _register_run_commands(psub)
    _register_steps(psub)
