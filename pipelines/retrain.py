"""The retraining + promotion pipeline.

prepare_data -> train -> evaluate (candidate and champion, same held-out split)
-> gate -> dsl.If(BLESSED): promote (then refresh the baseline)
           dsl.Else:        record the rejection

One builder makes two pipelines with identical graphs: :data:`retrain_pipeline`
from the container components (compiled to ``pipelines/retrain.yaml`` for a
cluster) and :data:`retrain_pipeline_local` from the Python components (what
kfp.local runs here). Every task reads data or registry state, so caching is
off for all of them: a rerun must see today's feedback and today's champion.
"""

# No `from __future__ import annotations`: kfp reads the pipeline's real annotations.
from pathlib import Path
from types import ModuleType
from typing import Any

import components.container
import components.local
from kfp import compiler, dsl

__all__ = [
    "BLESSED",
    "COMPILED_PATH",
    "PIPELINE_NAME",
    "RESOURCES",
    "compile_pipeline",
    "retrain_pipeline",
    "retrain_pipeline_local",
]

PIPELINE_NAME = "driftloop-retrain"
BLESSED = "BLESSED"
COMPILED_PATH = Path(__file__).with_name("retrain.yaml")

# Requests/limits per step on a cluster (kfp.local ignores them). Training is the
# only heavy step; the rest read a few hundred files or rows.
RESOURCES: dict[str, dict[str, str]] = {
    "prepare-data": {"cpu": "500m", "cpu_limit": "1", "memory": "1Gi", "memory_limit": "2Gi"},
    "train": {"cpu": "2", "cpu_limit": "4", "memory": "4Gi", "memory_limit": "8Gi"},
    "evaluate": {"cpu": "1", "cpu_limit": "2", "memory": "2Gi", "memory_limit": "4Gi"},
    "gate": {"cpu": "250m", "cpu_limit": "500m", "memory": "512Mi", "memory_limit": "1Gi"},
    "promote": {"cpu": "1", "cpu_limit": "2", "memory": "2Gi", "memory_limit": "4Gi"},
    "record-rejection": {
        "cpu": "250m",
        "cpu_limit": "500m",
        "memory": "512Mi",
        "memory_limit": "1Gi",
    },
}


def _configure(task: dsl.PipelineTask, name: str, display: str) -> dsl.PipelineTask:
    limits = RESOURCES[name]
    task.set_display_name(display)
    task.set_caching_options(False)
    task.set_cpu_request(limits["cpu"]).set_cpu_limit(limits["cpu_limit"])
    task.set_memory_request(limits["memory"]).set_memory_limit(limits["memory_limit"])
    return task


def _build(ops: ModuleType, description: str) -> Any:
    @dsl.pipeline(name=PIPELINE_NAME, description=description)  # type: ignore[untyped-decorator]
    def retrain(
        data_uri: str,
        feedback_uri: str = "",
        artifact_root: str = "",
        database_url: str = "",
        epochs: int = 8,
        batch_size: int = 32,
        arch: str = "small_cnn",
        image_size: int = 128,
        seed: int = 1234,
        metric_min: float = 0.72,
        metric_drop_tol: float = 0.03,
        holdout_fraction: float = 0.2,
        include_production: bool = False,
        refresh_baseline: bool = True,
    ) -> dsl.Artifact:
        prepare = _configure(
            ops.prepare_data(
                data_uri=data_uri,
                feedback_uri=feedback_uri,
                database_url=database_url,
                include_production=include_production,
                holdout_fraction=holdout_fraction,
                seed=seed,
            ),
            "prepare-data",
            "prepare data",
        )
        trained = _configure(
            ops.train(
                train_data=prepare.outputs["train_data"],
                arch=arch,
                epochs=epochs,
                batch_size=batch_size,
                image_size=image_size,
                seed=seed,
            ),
            "train",
            "train candidate",
        )
        evaluated = _configure(
            ops.evaluate(
                model=trained.outputs["model"],
                holdout_data=prepare.outputs["holdout_data"],
                artifact_root=artifact_root,
                database_url=database_url,
            ),
            "evaluate",
            "evaluate candidate and champion",
        )
        decided = _configure(
            ops.gate(
                model=trained.outputs["model"],
                train_data=prepare.outputs["train_data"],
                candidate_metrics=evaluated.outputs["candidate_metrics"],
                champion_metrics=evaluated.outputs["champion_metrics"],
                arch=arch,
                metric_min=metric_min,
                metric_drop_tol=metric_drop_tol,
                artifact_root=artifact_root,
                database_url=database_url,
                pipeline_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            ),
            "gate",
            "gate (fail closed)",
        )
        with dsl.If(decided.outputs["status"] == BLESSED, name="blessed"):
            _configure(
                ops.promote(
                    decision=decided.outputs["decision"],
                    train_data=prepare.outputs["train_data"],
                    artifact_root=artifact_root,
                    database_url=database_url,
                    refresh_baseline=refresh_baseline,
                ),
                "promote",
                "promote and refresh baseline",
            )
        with dsl.Else(name="not-blessed"):
            _configure(
                ops.record_rejection(
                    decision=decided.outputs["decision"],
                    artifact_root=artifact_root,
                    database_url=database_url,
                ),
                "record-rejection",
                "record rejection",
            )
        decision: dsl.Artifact = decided.outputs["decision"]
        return decision

    return retrain


retrain_pipeline = _build(
    components.container,
    "Retrain the driftloop classifier, gate it against the champion, promote if blessed.",
)
retrain_pipeline_local = _build(
    components.local,
    "Retrain the driftloop classifier (Python components, for kfp.local).",
)


def compile_pipeline(out: str | Path = COMPILED_PATH) -> Path:
    """Compile the cluster pipeline (container components) to ``out``; returns the path."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(retrain_pipeline, package_path=str(target))
    return target
