"""Real dag.test() runs of model_retrain (kfp.local) and baseline_refresh on the tiny demo set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from driftloop.config import load_settings
from driftloop.constants import CHAMPION_ASSET_URI
from driftloop.drift import load_baseline
from driftloop.errors import InputError
from driftloop.model import Registry
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database
from driftloop.storage.models import BaselineVersion, PipelineRun

pytestmark = pytest.mark.slow  # a baseline to build, a model to train (about 90 s in all)

DAGS = Path(__file__).resolve().parents[2] / "dags"
# Small and permissive: one epoch on 64x64 images (settings), a gate any candidate passes.
RETRAIN_CONF = {"epochs": 1, "arch": "small_cnn", "metric_min": 0.0, "metric_drop_tol": 1.0}


def _dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def _champion_events() -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func

    with create_session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AssetEvent)
                .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                .where(AssetModel.uri == CHAMPION_ASSET_URI)
            )
            or 0
        )


def _store() -> ArtifactStore:
    return ArtifactStore(load_settings().artifacts_uri)


def test_model_retrain_promotes_a_champion_and_baseline_refresh_rebuilds_for_it(
    monitor_env: Database, demo_tiny: Path
) -> None:
    registry = Registry(monitor_env, _store())
    assert registry.current() is None
    events_before = _champion_events()

    dagrun = _dag("model_retrain").test(run_conf=RETRAIN_CONF)
    assert str(dagrun.state) == "success"
    with monitor_env.session() as session:
        runs = session.scalars(select(PipelineRun)).all()
    assert len(runs) == 1
    run = runs[0]
    assert run.trigger == "manual" and run.status == "succeeded" and run.backend == "local"
    assert run.run_key == f"manual-{dagrun.run_id}"
    assert run.parameters["epochs"] == 1 and run.gate["promote"] is True
    champion = registry.current()
    assert champion is not None and champion.stage == "champion"
    # The promotion announced itself: baseline_refresh is scheduled on this asset.
    assert _champion_events() == events_before + 1

    before = load_baseline("current", _store()).version
    refreshed = _dag("baseline_refresh").test(run_conf={})
    assert str(refreshed.state) == "success"
    current = load_baseline("current", _store())
    assert current.version != before
    assert current.model_version == champion.version
    n_reference = sum(1 for f in (demo_tiny / "reference").rglob("*") if f.is_file())
    assert current.n_rows == n_reference
    with monitor_env.session() as session:
        flagged = session.scalars(
            select(BaselineVersion.version).where(BaselineVersion.is_current.is_(True))
        ).all()
    assert flagged == [current.version]


def test_baseline_refresh_of_a_missing_folder_fails_and_keeps_the_current_baseline(
    monitor_env: Database, tmp_path: Path
) -> None:
    before = load_baseline("current", _store()).version
    missing = tmp_path / "no-such-folder"
    started = time.monotonic()
    dagrun = _dag("baseline_refresh").test(run_conf={"images": str(missing)})
    assert str(dagrun.state) == "failed"
    # Bad input is not transient: no retries with backoff (minutes) before failing.
    assert time.monotonic() - started < 30
    (ti,) = dagrun.get_task_instances()
    assert ti.try_number == 1
    assert load_baseline("current", _store()).version == before
    with pytest.raises(InputError, match="no-such-folder"):
        from driftloop.monitor import refresh_baseline

        refresh_baseline(load_settings(), str(missing))
