"""Python-function components with the same interfaces as :mod:`components.container`.

kfp.local's SubprocessRunner runs only Python components, so this is the set
the in-process backend (``driftloop pipeline run --local`` and the monitoring DAG
without a KFP host) uses. Each body imports the same step functions the
``driftloop pipeline step`` CLI calls; kfp copies only the function's source into
the task, so every import sits inside the body. The base image is the steps
image, so these would run unchanged on a cluster too.
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output, OutputPath

from driftloop.constants import STEPS_IMAGE

__all__ = ["evaluate", "gate", "prepare_data", "promote", "record_rejection", "train"]


def _component(func):  # type: ignore[no-untyped-def]
    # The steps image already holds kfp and driftloop: install nothing at run time.
    return dsl.component(func, base_image=STEPS_IMAGE, install_kfp_package=False)


@_component  # type: ignore[untyped-decorator]
def prepare_data(
    data_uri: str,
    feedback_uri: str,
    database_url: str,
    include_production: bool,
    holdout_fraction: float,
    seed: int,
    train_data: Output[Dataset],
    holdout_data: Output[Dataset],
) -> None:
    """Training set + labelled feedback (+ labelled production images) -> stratified split."""
    import logging

    from components.data import prepare_data as run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = run(
        data_uri,
        train_data.path,
        holdout_data.path,
        feedback_uri=feedback_uri,
        database_url=database_url,
        include_production=include_production,
        holdout_fraction=holdout_fraction,
        seed=seed,
    )
    for artifact in (train_data, holdout_data):
        artifact.metadata["fingerprint"] = result.fingerprint
    train_data.metadata["n_images"] = result.n_train
    holdout_data.metadata["n_images"] = result.n_holdout


@_component  # type: ignore[untyped-decorator]
def train(
    train_data: Input[Dataset],
    arch: str,
    epochs: int,
    batch_size: int,
    image_size: int,
    seed: int,
    model: Output[Model],
    metrics: Output[Metrics],
) -> None:
    """Train a candidate model on the training split."""
    import logging

    from components.steps import train_step

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    train_step(
        train_data.path,
        model.path,
        metrics.path,
        arch=arch,
        epochs=epochs,
        batch_size=batch_size,
        image_size=image_size,
        seed=seed,
    )
    model.metadata["arch"] = arch


@_component  # type: ignore[untyped-decorator]
def evaluate(
    model: Input[Model],
    holdout_data: Input[Dataset],
    artifact_root: str,
    database_url: str,
    candidate_metrics: Output[Metrics],
    champion_metrics: Output[Metrics],
) -> None:
    """Evaluate the candidate and the current champion on the same held-out split."""
    import logging

    from components.steps import evaluate_step

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    evaluate_step(
        model.path,
        holdout_data.path,
        candidate_metrics.path,
        champion_metrics.path,
        artifact_root=artifact_root,
        database_url=database_url,
    )


@_component  # type: ignore[untyped-decorator]
def gate(
    model: Input[Model],
    train_data: Input[Dataset],
    candidate_metrics: Input[Metrics],
    champion_metrics: Input[Metrics],
    arch: str,
    metric_min: float,
    metric_drop_tol: float,
    artifact_root: str,
    database_url: str,
    pipeline_run_id: str,
    decision: Output[Artifact],
    status: OutputPath(str),  # type: ignore[valid-type]
) -> None:
    """Register the candidate and decide: BLESSED or NOT_BLESSED (gate.json in ``decision``)."""
    import logging

    from components.steps import gate_step

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = gate_step(
        model.path,
        train_data.path,
        candidate_metrics.path,
        champion_metrics.path,
        decision.path,
        status,
        arch=arch,
        metric_min=metric_min,
        metric_drop_tol=metric_drop_tol,
        artifact_root=artifact_root,
        database_url=database_url,
        pipeline_run_id=pipeline_run_id,
    )
    decision.metadata["status"] = result.status
    decision.metadata["candidate_version"] = result.candidate_version or ""


@_component  # type: ignore[untyped-decorator]
def promote(
    decision: Input[Artifact],
    train_data: Input[Dataset],
    artifact_root: str,
    database_url: str,
    refresh_baseline: bool,
) -> None:
    """Promote the BLESSED candidate, then refresh the drift baseline."""
    import logging

    from components.steps import promote_step

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    promote_step(
        decision.path,
        train_data.path,
        artifact_root=artifact_root,
        database_url=database_url,
        refresh=refresh_baseline,
    )


@_component  # type: ignore[untyped-decorator]
def record_rejection(
    decision: Input[Artifact],
    artifact_root: str,
    database_url: str,
) -> None:
    """Record the NOT_BLESSED decision; the champion stays."""
    import logging

    from components.steps import reject_step

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    reject_step(decision.path, artifact_root=artifact_root, database_url=database_url)
