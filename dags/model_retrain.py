"""
### model_retrain

Starts the driftloop retraining pipeline by hand (Kubeflow Pipelines when
`kfp.host` is set, kfp.local otherwise): prepare → train → evaluate → gate
(fail closed) → promote → refresh baseline. Fill in the Params in the trigger
form; a promotion emits the `driftloop_champion` asset, which schedules
`baseline_refresh`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Asset, AssetAlias, Param, dag, task

DAG_ID = "model_retrain"
# Same value as driftloop.constants.CHAMPION_ASSET_URI (a test pins it).
CHAMPION = Asset(name="driftloop_champion", uri="driftloop://models/champion")
PROMOTIONS = AssetAlias("driftloop_promotions")


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["driftloop", "retraining"],
    default_args={"owner": "driftloop"},
    params={
        "epochs": Param(
            8,
            type="integer",
            minimum=0,
            maximum=500,
            title="Epochs",
            description="Training epochs for the candidate model.",
        ),
        "arch": Param(
            "small_cnn",
            type="string",
            enum=["small_cnn", "efficientnet_b0"],
            title="Architecture",
            description="Model architecture to train.",
        ),
        "metric_min": Param(
            0.72,
            type="number",
            minimum=0,
            maximum=1,
            title="Minimum macro AUC",
            description="Gate: the candidate's macro AUC must reach this.",
        ),
        "metric_drop_tol": Param(
            0.03,
            type="number",
            minimum=0,
            maximum=1,
            title="Allowed AUC drop",
            description="Gate: largest macro-AUC drop against the champion.",
        ),
    },
)
def model_retrain() -> None:
    @task(
        task_id="launch_retraining",
        execution_timeout=dt.timedelta(hours=3),
        retries=1,
        retry_delay=dt.timedelta(minutes=1),
        outlets=[PROMOTIONS],
    )
    def launch_retraining(**context: Any) -> dict[str, Any]:
        """Launch the pipeline with the form's Params; announce a promotion."""
        from driftloop.config import load_settings
        from driftloop.monitor import launch_manual

        params = {
            k: context["params"][k] for k in ("epochs", "arch", "metric_min", "metric_drop_tol")
        }
        result = launch_manual(load_settings(), params, run_key=f"manual-{context['run_id']}")
        if result.get("promoted"):
            context["outlet_events"][PROMOTIONS].add(CHAMPION, extra={"run_key": result["run_key"]})
        return result

    launch_retraining()


model_retrain()
