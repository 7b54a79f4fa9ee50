"""The whole retraining pipeline under kfp.local (SubprocessRunner) on the tiny demo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipelines.launcher import launch
from sqlalchemy import select

from driftloop.cli import main
from driftloop.config import Settings
from driftloop.model import Registry
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database
from driftloop.storage.models import BaselineVersion, ModelEvent, PipelineRun

FAST = {"epochs": 2, "batch_size": 16, "image_size": 64}


def _events(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.scalars(select(ModelEvent).order_by(ModelEvent.id)).all()
        return [(r.version, r.action) for r in rows]


@pytest.mark.slow
def test_good_run_promotes_and_a_worse_candidate_is_rejected(
    demo_tiny: Path,
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = Registry(db, ArtifactStore(settings.artifacts_uri))
    assert registry.current() is None
    data = {"data_uri": str(demo_tiny / "train"), "feedback_uri": str(demo_tiny / "feedback")}

    good = launch(
        settings, {**data, **FAST, "metric_min": 0.5}, trigger="drift", run_key="2026-11-05"
    )

    assert (good.backend, good.status, good.gate["status"]) == ("local", "succeeded", "BLESSED")
    champion = registry.current()
    assert champion is not None
    assert champion.version == good.gate["candidate_version"]
    assert champion.stage == "champion"
    assert (champion.version, "promoted") in _events(db)
    with db.session() as session:
        baseline = session.scalars(select(BaselineVersion).where(BaselineVersion.is_current)).one()
    assert baseline.model_version == champion.version  # promotion refreshed the baseline
    assert baseline.n_rows > 0
    run_folder = Path(good.ui_url.removeprefix("file://"))
    gate_json = json.loads((run_folder / "gate" / "decision" / "gate.json").read_text())
    assert gate_json["candidate_version"] == champion.version

    # A candidate held to an unreachable bar: the gate says NOT_BLESSED, the champion stays.
    monkeypatch.setenv("DRIFTLOOP_HOME", str(settings.home))
    args = ["pipeline", "run", "--local", "--param", f"data_uri={data['data_uri']}"]
    args += [
        f"--param={k}={v}"
        for k, v in {**FAST, "metric_min": 0.99, "refresh_baseline": False}.items()
    ]
    assert main(args) == 0
    assert "gate: NOT_BLESSED" in capsys.readouterr().out

    assert registry.current_uri() is not None
    current = registry.current()
    assert current is not None and current.version == champion.version
    with db.session() as session:
        runs = session.scalars(select(PipelineRun).order_by(PipelineRun.id)).all()
        rejected_version = runs[-1].gate["candidate_version"]
        assert [(r.status, r.gate["status"], r.trigger) for r in runs] == [
            ("succeeded", "BLESSED", "drift"),
            ("succeeded", "NOT_BLESSED", "manual"),
        ]
        assert runs[0].run_key == "2026-11-05"
        assert "database_url" not in runs[0].parameters
    assert (rejected_version, "rejected") in _events(db)
    assert rejected_version != champion.version


def test_local_run_with_missing_data_fails_and_does_not_block_the_next(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    from driftloop.errors import PipelineError

    with pytest.raises(PipelineError, match=r"local pipeline run local-\S+ failed"):
        launch(settings, {"data_uri": str(tmp_path / "missing"), **FAST})
    with db.session() as session:
        (row,) = session.scalars(select(PipelineRun)).all()
        assert row.status == "failed"
        assert row.finished_at is not None
