"""Container components: what the compiled pipeline (pipelines/retrain.yaml) runs on a cluster.

Every component runs the one steps image (``driftloop.constants.STEPS_IMAGE``,
no ``packages_to_install``) and its one entrypoint, ``driftloop pipeline step
NAME``, which calls the functions in :mod:`components.steps` /
:mod:`components.data`. :mod:`components.local` declares the same interfaces as
Python components so kfp.local can run the pipeline here; a test checks that the
two sets have identical inputs and outputs.
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output, OutputPath

from driftloop.constants import STEPS_IMAGE

__all__ = ["evaluate", "gate", "prepare_data", "promote", "record_rejection", "train"]

_STEP = ["driftloop", "pipeline", "step"]


@dsl.container_component  # type: ignore[untyped-decorator]
def prepare_data(
    data_uri: str,
    feedback_uri: str,
    database_url: str,
    include_production: bool,
    holdout_fraction: float,
    seed: int,
    train_data: Output[Dataset],
    holdout_data: Output[Dataset],
) -> dsl.ContainerSpec:
    """Training set + labelled feedback (+ labelled production images) -> stratified split."""
    return dsl.ContainerSpec(
        image=STEPS_IMAGE,
        command=[*_STEP, "prepare-data"],
        args=[
            "--data-uri",
            data_uri,
            "--feedback-uri",
            feedback_uri,
            "--database-url",
            database_url,
            "--include-production",
            include_production,
            "--holdout-fraction",
            holdout_fraction,
            "--seed",
            seed,
            "--train-out",
            train_data.path,
            "--holdout-out",
            holdout_data.path,
        ],
    )


@dsl.container_component  # type: ignore[untyped-decorator]
def train(
    train_data: Input[Dataset],
    arch: str,
    epochs: int,
    batch_size: int,
    image_size: int,
    seed: int,
    model: Output[Model],
    metrics: Output[Metrics],
) -> dsl.ContainerSpec:
    """Train a candidate model on the training split."""
    return dsl.ContainerSpec(
        image=STEPS_IMAGE,
        command=[*_STEP, "train"],
        args=[
            "--train-data",
            train_data.path,
            "--arch",
            arch,
            "--epochs",
            epochs,
            "--batch-size",
            batch_size,
            "--image-size",
            image_size,
            "--seed",
            seed,
            "--model-out",
            model.path,
            "--metrics-out",
            metrics.path,
        ],
    )


@dsl.container_component  # type: ignore[untyped-decorator]
def evaluate(
    model: Input[Model],
    holdout_data: Input[Dataset],
    artifact_root: str,
    database_url: str,
    candidate_metrics: Output[Metrics],
    champion_metrics: Output[Metrics],
) -> dsl.ContainerSpec:
    """Evaluate the candidate and the current champion on the same held-out split."""
    return dsl.ContainerSpec(
        image=STEPS_IMAGE,
        command=[*_STEP, "evaluate"],
        args=[
            "--model",
            model.path,
            "--holdout-data",
            holdout_data.path,
            "--artifact-root",
            artifact_root,
            "--database-url",
            database_url,
            "--candidate-out",
            candidate_metrics.path,
            "--champion-out",
            champion_metrics.path,
        ],
    )


@dsl.container_component  # type: ignore[untyped-decorator]
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
) -> dsl.ContainerSpec:
    """Register the candidate and decide: BLESSED or NOT_BLESSED (gate.json in ``decision``)."""
    return dsl.ContainerSpec(
        image=STEPS_IMAGE,
        command=[*_STEP, "gate"],
        args=[
            "--model",
            model.path,
            "--train-data",
            train_data.path,
            "--candidate-metrics",
            candidate_metrics.path,
            "--champion-metrics",
            champion_metrics.path,
            "--arch",
            arch,
            "--metric-min",
            metric_min,
            "--metric-drop-tol",
            metric_drop_tol,
            "--artifact-root",
            artifact_root,
            "--database-url",
            database_url,
            "--pipeline-run-id",
            pipeline_run_id,
            "--decision-out",
            decision.path,
            "--status-out",
            status,
        ],
    )


@dsl.container_component  # type: ignore[untyped-decorator]
def promote(
    decision: Input[Artifact],
    train_data: Input[Dataset],
    artifact_root: str,
    database_url: str,
    refresh_baseline: bool,
) -> dsl.ContainerSpec:
    """Promote the BLESSED candidate, then refresh the drift baseline."""
    return dsl.ContainerSpec(
        image=STEPS_IMAGE,
        command=[*_STEP, "promote"],
        args=[
            "--decision",
            decision.path,
            "--train-data",
            train_data.path,
            "--artifact-root",
            artifact_root,
            "--database-url",
            database_url,
            "--refresh-baseline",
            refresh_baseline,
        ],
    )


@dsl.container_component  # type: ignore[untyped-decorator]
def record_rejection(
    decision: Input[Artifact],
    artifact_root: str,
    database_url: str,
) -> dsl.ContainerSpec:
    """Record the NOT_BLESSED decision; the champion stays."""
    return dsl.ContainerSpec(
        image=STEPS_IMAGE,
        command=[*_STEP, "reject"],
        args=[
            "--decision",
            decision.path,
            "--artifact-root",
            artifact_root,
            "--database-url",
            database_url,
        ],
    )
