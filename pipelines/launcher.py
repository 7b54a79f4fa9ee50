"""Launch the retraining pipeline: on a Kubeflow Pipelines server, or in-process with kfp.local.

With ``settings.kfp.host`` set, a real ``kfp.Client`` uploads the compiled package
(pipeline and version, when missing) and creates the run; otherwise the Python
component variant runs here under kfp.local. Either way a ``PipelineRun`` row
records the run (id, status, UI link, trigger, parameters, gate decision), and
that row dedupes: while a run for the same model is pending or running, launch
returns it instead of starting another.

``kfp.Client.wait_for_run_completion`` returns failed runs without raising, so
:func:`launch` checks the final state itself and raises :class:`PipelineError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from driftloop.config import Settings
from driftloop.constants import VERSION
from driftloop.errors import PipelineError
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database
from driftloop.storage.models import PipelineRun

__all__ = [
    "IN_FLIGHT",
    "PipelineRunInfo",
    "kfp_client",
    "launch",
    "pipeline_parameters",
    "run_status",
    "upload",
]

log = logging.getLogger(__name__)

IN_FLIGHT = ("pending", "running")
_FINISHED_OK = ("succeeded", "skipped")


@dataclasses.dataclass(frozen=True, slots=True)
class PipelineRunInfo:
    """One launched (or deduplicated) pipeline run."""

    run_id: str
    status: str
    ui_url: str | None
    backend: str
    gate: dict[str, Any] = dataclasses.field(default_factory=dict)
    deduplicated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def pipeline_parameters() -> dict[str, Any]:
    """The pipeline's parameters and their defaults (``None`` = required)."""
    from pipelines.retrain import retrain_pipeline

    spec = retrain_pipeline.component_spec
    return {
        name: (None if inp.optional is False else inp.default) for name, inp in spec.inputs.items()
    }


def _resolve(settings: Settings, params: Mapping[str, Any], *, local: bool) -> dict[str, Any]:
    """Settings-derived defaults, overridden by ``params``; unknown names are an error."""
    known = pipeline_parameters()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise PipelineError(
            f"unknown pipeline parameter(s) {unknown}; valid: {', '.join(sorted(known))}"
        )
    model = settings.model
    resolved: dict[str, Any] = {
        "epochs": model.epochs,
        "batch_size": model.batch_size,
        "arch": model.arch,
        "image_size": model.image_size,
        "seed": model.seed,
        "metric_min": model.metric_min,
        "metric_drop_tol": model.metric_drop_tol,
    }
    if settings.kfp.data_uri:
        resolved["data_uri"] = settings.kfp.data_uri
    if local:
        # In-process the steps share this machine's store and database. On a cluster
        # the pods get them from their environment (a Secret), never from run parameters.
        resolved["artifact_root"] = settings.artifacts_uri
        resolved["database_url"] = settings.db_url
        resolved["feedback_uri"] = Layout(ArtifactStore(settings.artifacts_uri)).feedback_dir()
    resolved.update(params)
    if not resolved.get("data_uri"):
        raise PipelineError(
            "no training data: pass --param data_uri=DIR (DIR/<class>/*.jpg) or set kfp.data_uri"
        )
    return resolved


# -- the run record ------------------------------------------------------------


def _info(row: PipelineRun, *, deduplicated: bool = False) -> PipelineRunInfo:
    return PipelineRunInfo(
        run_id=row.external_id,
        status=row.status,
        ui_url=row.ui_url,
        backend=row.backend,
        gate=dict(row.gate or {}),
        deduplicated=deduplicated,
    )


def _update(db: Database, row_id: int, **values: Any) -> PipelineRun:
    with db.session() as session:
        row = session.get(PipelineRun, row_id)
        if row is None:
            raise PipelineError(f"pipeline run record {row_id} vanished; check the database")
        for key, value in values.items():
            setattr(row, key, value)
        if values.get("status") not in (None, *IN_FLIGHT) and row.finished_at is None:
            row.finished_at = dt.datetime.now(dt.UTC)
        return row


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _in_flight(
    db: Database, settings: Settings, model_name: str, exclude: int
) -> PipelineRun | None:
    """The oldest other run for ``model_name`` still pending/running (refreshed first)."""
    with db.session() as session:
        rows = session.scalars(
            select(PipelineRun)
            .where(PipelineRun.model_name == model_name, PipelineRun.status.in_(IN_FLIGHT))
            .where(PipelineRun.id != exclude)
            .order_by(PipelineRun.id)
        ).all()
    stale_before = dt.datetime.now(dt.UTC) - dt.timedelta(hours=settings.kfp.stale_hours)
    for row in rows:
        if row.backend == "kfp" and row.host:
            row = _refresh_kfp(db, settings, row)
        elif _aware(row.launched_at) < stale_before:
            # A local run lives in the launching process; this old, that process is gone.
            _update(db, row.id, status="failed", gate={**(row.gate or {}), "error": "abandoned"})
            continue
        if row.status in IN_FLIGHT:
            return row
    return None


def _claim(
    db: Database, settings: Settings, model_name: str, backend: str, record: dict[str, Any]
) -> tuple[PipelineRun, PipelineRun | None]:
    """Insert our pending row, then look for an earlier in-flight one.

    Inserting first closes the race between two launchers: both rows exist, and
    the later one sees the earlier and steps back.
    """
    with db.session() as session:
        mine = PipelineRun(
            external_id=f"pending-{uuid.uuid4().hex[:12]}",
            model_name=model_name,
            status="pending",
            backend=backend,
            **record,
        )
        session.add(mine)
    other = _in_flight(db, settings, model_name, exclude=mine.id)
    if other is not None and other.id < mine.id:
        with db.session() as session:
            row = session.get(PipelineRun, mine.id)
            if row is not None:
                session.delete(row)
        return mine, other
    return mine, None


# -- KFP server -----------------------------------------------------------------


@contextmanager
def _talking_to(host: str, action: str) -> Iterator[None]:
    """Turn the client's many failure types into one clear line."""
    try:
        yield
    except PipelineError:
        raise
    except Exception as exc:
        import kfp_server_api
        import urllib3

        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            reason = getattr(exc, "reason", None) or exc
            raise PipelineError(
                f"cannot reach the KFP API at '{host}' to {action}: "
                f"{' '.join(str(reason).split())[:200]}; check kfp.host / --host and that the "
                "server is running"
            ) from None
        if isinstance(exc, kfp_server_api.ApiException):
            body = " ".join(str(exc.body or exc.reason).split())[:200]
            raise PipelineError(
                f"the KFP API at '{host}' refused to {action}: HTTP {exc.status} {body}"
            ) from None
        if isinstance(exc, ValueError | TimeoutError):
            raise PipelineError(f"KFP API at '{host}' could not {action}: {exc}") from None
        raise


def kfp_client(settings: Settings, host: str | None = None) -> Any:
    """A ``kfp.Client`` for ``host`` (default ``settings.kfp.host``); kfp is imported here."""
    target = host or settings.kfp.host
    if not target:
        raise PipelineError("no KFP host: pass --host URL or set kfp.host (DRIFTLOOP_KFP__HOST)")
    try:
        import kfp
    except ImportError:
        raise PipelineError(
            "the KFP client is not installed; install it with: pip install 'driftloop[kfp]'"
        ) from None
    token = settings.kfp.existing_token
    with _talking_to(target, "connect"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This client only works", FutureWarning)
        return kfp.Client(
            host=target,
            namespace=settings.kfp.namespace,
            existing_token=token.get_secret_value() if token else None,
        )


def _package(package: str | Path | None) -> Path:
    if package is not None:
        path = Path(package)
        if not path.is_file():
            raise PipelineError(
                f"pipeline package '{path}' not found; run 'driftloop pipeline compile'"
            )
        return path
    from pipelines.retrain import COMPILED_PATH, compile_pipeline

    return COMPILED_PATH if COMPILED_PATH.is_file() else compile_pipeline(COMPILED_PATH)


def _default_version(package: Path) -> str:
    return f"{VERSION}-{hashlib.sha256(package.read_bytes()).hexdigest()[:10]}"


def upload(
    settings: Settings,
    *,
    host: str | None = None,
    name: str | None = None,
    version: str | None = None,
    package: str | Path | None = None,
) -> tuple[str, str]:
    """Upload the pipeline (if missing) and a version (if missing); returns (pipeline_id, version_id)."""
    client = kfp_client(settings, host)
    target = host or settings.kfp.host
    path = _package(package)
    name = name or settings.kfp.pipeline_name
    version = version or _default_version(path)
    with _talking_to(target, f"upload pipeline '{name}'"):
        pipeline_id = client.get_pipeline_id(name)
        if pipeline_id is None:
            pipeline_id = client.upload_pipeline(str(path), pipeline_name=name).pipeline_id
            log.info("uploaded pipeline %s (%s)", name, pipeline_id)
        listed = client.list_pipeline_versions(pipeline_id, page_size=200).pipeline_versions or []
        for existing in listed:
            if existing.display_name == version:
                log.info("pipeline %s version %s already uploaded", name, version)
                return pipeline_id, str(existing.pipeline_version_id)
        created = client.upload_pipeline_version(
            str(path), pipeline_version_name=version, pipeline_id=pipeline_id
        )
    log.info("uploaded pipeline %s version %s", name, version)
    return pipeline_id, str(created.pipeline_version_id)


def _ui_url(settings: Settings, host: str, run_id: str) -> str:
    base = (settings.kfp.ui_url or host).rstrip("/")
    return f"{base}/#/runs/details/{run_id}"


def _state(run: Any) -> str:
    return str(run.state or "pending").lower()


def _refresh_kfp(db: Database, settings: Settings, row: PipelineRun) -> PipelineRun:
    client = kfp_client(settings, row.host)
    with _talking_to(str(row.host), f"get run {row.external_id}"):
        run = client.get_run(row.external_id)
    return _update(db, row.id, status=_state(run))


def _launch_kfp(
    db: Database, settings: Settings, row: PipelineRun, params: dict[str, Any], wait: bool
) -> PipelineRunInfo:
    host = settings.kfp.host
    pipeline_id, version_id = upload(settings)
    client = kfp_client(settings)
    with _talking_to(host, "create a run"):
        experiment = client.create_experiment(name=settings.kfp.experiment)
        run = client.run_pipeline(
            experiment_id=experiment.experiment_id,
            job_name=f"{settings.kfp.pipeline_name} {row.trigger} {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}",
            params=params,
            pipeline_id=pipeline_id,
            version_id=version_id,
            pipeline_root=settings.kfp.pipeline_root or None,
            enable_caching=False,
        )
    run_id = str(run.run_id)
    row = _update(
        db, row.id, external_id=run_id, status=_state(run), ui_url=_ui_url(settings, host, run_id)
    )
    log.info("created KFP run %s: %s", run_id, row.ui_url)
    if not wait:
        return _info(row)
    with _talking_to(host, f"wait for run {run_id}"):
        try:
            final = client.wait_for_run_completion(
                run_id,
                timeout=settings.kfp.timeout_seconds,
                sleep_duration=settings.kfp.poll_seconds,
            )
        except TimeoutError:
            raise PipelineError(
                f"run {run_id} did not finish within {settings.kfp.timeout_seconds:.0f} s; it is "
                f"still running: check 'driftloop pipeline status {run_id}' or {row.ui_url}"
            ) from None
    row = _update(db, row.id, status=_state(final))
    if row.status not in _FINISHED_OK:
        raise PipelineError(
            f"pipeline run {run_id} finished {row.status.upper()}; see {row.ui_url}"
        )
    return _info(row)


def _launch_local(
    db: Database, settings: Settings, row: PipelineRun, params: dict[str, Any]
) -> PipelineRunInfo:
    import kfp.local
    from components.steps import read_decision

    from pipelines.retrain import retrain_pipeline_local

    root = Layout(ArtifactStore(settings.artifacts_uri)).pipeline_root()
    Path(root).mkdir(parents=True, exist_ok=True)
    run_id = f"local-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    row = _update(db, row.id, external_id=run_id, status="running", ui_url=None)
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=root)
    log.info("running %s under kfp.local (outputs under %s)", run_id, root)
    try:
        with warnings.catch_warnings():
            # Resource requests and the non-"python" steps image only matter on a cluster.
            warnings.filterwarnings("ignore", "Task '.*' settings", UserWarning)
            warnings.filterwarnings("ignore", "You may be attemping", RuntimeWarning)
            finished = retrain_pipeline_local(**params)
        # A locally run pipeline returns a finished task whose ``output`` is the returned artifact.
        decision_dir = Path(finished.output.path)
        decision = read_decision(decision_dir)
    except BaseException as exc:
        # Whatever stopped the run, its record must not stay in flight and block the next launch.
        _update(db, row.id, status="failed", gate={"error": " ".join(str(exc).split())[:500]})
        if not isinstance(exc, Exception):
            raise
        raise PipelineError(
            f"local pipeline run {run_id} failed: {' '.join(str(exc).split())[:300]}; "
            f"task logs are above, outputs under {root}"
        ) from None
    outputs = decision_dir.parent.parent.as_uri()
    row = _update(db, row.id, status="succeeded", gate=decision.to_dict(), ui_url=outputs)
    log.info("local run %s succeeded: gate %s", run_id, decision.status)
    return _info(row)


def launch(
    settings: Settings,
    params: Mapping[str, Any],
    *,
    wait: bool = False,
    trigger: str = "manual",
    run_key: str | None = None,
    model_name: str = "driftloop",
) -> PipelineRunInfo:
    """Start a retraining run (KFP when ``kfp.host`` is set, else kfp.local, which always waits).

    Returns the in-flight run instead (``deduplicated=True``) when one for
    ``model_name`` is pending or running. Raises :class:`PipelineError` when a
    waited-for run fails or times out, or the server cannot be reached.
    """
    local = not settings.kfp.host
    resolved = _resolve(settings, params, local=local)
    db = Database(settings.db_url)
    try:
        db.check_ready()
        record = {
            "host": settings.kfp.host or None,
            "trigger": trigger,
            "run_key": run_key,
            "parameters": {k: v for k, v in resolved.items() if k != "database_url"},
        }
        mine, other = _claim(db, settings, model_name, "local" if local else "kfp", record)
        if other is not None:
            log.info(
                "run %s for %s is still %s: not launching another",
                other.external_id,
                model_name,
                other.status,
            )
            return _info(other, deduplicated=True)
        try:
            if local:
                return _launch_local(db, settings, mine, resolved)
            return _launch_kfp(db, settings, mine, resolved, wait)
        except PipelineError:
            with db.session() as session:
                row = session.get(PipelineRun, mine.id)
                if (
                    row is not None
                    and row.status in IN_FLIGHT
                    and row.external_id.startswith("pending-")
                ):
                    # Never created anywhere: a failed launch must not block the next one.
                    row.status = "failed"
                    row.finished_at = dt.datetime.now(dt.UTC)
            raise
    finally:
        db.dispose()


def run_status(settings: Settings, run_id: str) -> PipelineRunInfo:
    """The run's recorded status, refreshed from the KFP server while it is in flight."""
    db = Database(settings.db_url)
    try:
        with db.session() as session:
            row = session.scalars(
                select(PipelineRun).where(PipelineRun.external_id == run_id)
            ).first()
        if row is None:
            if settings.kfp.host:
                client = kfp_client(settings)
                with _talking_to(settings.kfp.host, f"get run {run_id}"):
                    run = client.get_run(run_id)
                return PipelineRunInfo(
                    run_id, _state(run), _ui_url(settings, settings.kfp.host, run_id), "kfp"
                )
            raise PipelineError(
                f"no pipeline run '{run_id}' recorded in {settings.db_url.split('@')[-1]}; "
                "pass --host URL to ask a KFP server"
            )
        if row.backend == "kfp" and row.host and row.status in IN_FLIGHT:
            row = _refresh_kfp(db, settings, row)
        return _info(row)
    finally:
        db.dispose()
