"""
### baseline_refresh

Rebuilds the drift baseline for a newly promoted champion model: features of
the reference images (`monitor.reference_images`) with the champion's
model-side outputs, saved as a new baseline version and made current.
Scheduled on the `driftloop_champion` asset, which a promotion emits (the
monitoring DAG's and model_retrain's launch tasks); trigger it by hand after a
rollback.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Asset, Param, dag, task

DAG_ID = "baseline_refresh"
# Same value as driftloop.constants.CHAMPION_ASSET_URI (a test pins it).
CHAMPION = Asset(name="driftloop_champion", uri="driftloop://models/champion")


@dag(
    dag_id=DAG_ID,
    schedule=[CHAMPION],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["driftloop", "baseline"],
    default_args={"owner": "driftloop"},
    params={
        "images": Param(
            "",
            type="string",
            title="Reference images",
            description="Folder or URI of the reference images; empty: the "
            "monitor.reference_images setting.",
        ),
    },
)
def baseline_refresh() -> None:
    @task(
        task_id="rebuild_baseline",
        execution_timeout=dt.timedelta(hours=1),
        retries=2,
        retry_delay=dt.timedelta(minutes=1),
        retry_exponential_backoff=True,
    )
    def rebuild_baseline(**context: Any) -> dict[str, Any]:
        """Build and save the champion's baseline; it becomes the current one."""
        from airflow.sdk.exceptions import AirflowFailException

        from driftloop.config import load_settings
        from driftloop.errors import ConfigError, InputError
        from driftloop.monitor import refresh_baseline

        try:
            # In process (workers=1): worker processes spawned inside an Airflow 3
            # task re-run the `airflow` script, which has no database there.
            return refresh_baseline(load_settings(), context["params"]["images"] or None, workers=1)
        except (ConfigError, InputError) as exc:
            # A missing folder or setting will not appear on a retry: fail now, clearly.
            raise AirflowFailException(str(exc)) from exc

    rebuild_baseline()


baseline_refresh()
