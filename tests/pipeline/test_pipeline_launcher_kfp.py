"""The launcher and CLI against a real kfp.Client talking HTTP to a fake KFP API server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fake_kfp import FakeKfp
from pipelines.launcher import launch, run_status, upload
from pipelines.retrain import COMPILED_PATH
from sqlalchemy import select

from driftloop.cli import main
from driftloop.config import Settings
from driftloop.errors import PipelineError
from driftloop.storage.db import Database
from driftloop.storage.models import PipelineRun


def _rows(db: Database) -> list[PipelineRun]:
    with db.session() as session:
        return list(session.scalars(select(PipelineRun).order_by(PipelineRun.id)).all())


def test_upload_sends_the_compiled_package_once_per_version(
    kfp_settings: Settings, fake_kfp: tuple[str, FakeKfp]
) -> None:
    _, fake = fake_kfp
    pipeline_id, version_id = upload(kfp_settings, version="v1")
    again = upload(kfp_settings, version="v1")
    assert again == (pipeline_id, version_id)
    assert [p["display_name"] for p in fake.pipelines.values()] == ["driftloop-retrain"]
    assert fake.packages[version_id] == COMPILED_PATH.read_bytes()
    _, newer = upload(kfp_settings, version="v2")
    assert newer != version_id
    assert [v["display_name"] for v in fake.versions[pipeline_id]] == [
        "driftloop-retrain",
        "v1",
        "v2",
    ]


def test_launch_creates_a_run_and_records_it(
    kfp_settings: Settings, db: Database, fake_kfp: tuple[str, FakeKfp]
) -> None:
    url, fake = fake_kfp
    info = launch(kfp_settings, {"epochs": 2}, trigger="drift", run_key="2026-11-05")
    assert info.backend == "kfp"
    assert info.status == "pending"
    assert info.ui_url == f"{url}/#/runs/details/{info.run_id}"
    body = fake.run_bodies[info.run_id]
    params = body["runtime_config"]["parameters"]
    assert params["epochs"] == 2
    assert params["data_uri"] == "/data/train"
    # The cluster's pods read the database URL from their environment, never from run parameters.
    assert "database_url" not in params
    assert body["pipeline_version_reference"]["pipeline_version_id"] in fake.packages
    (row,) = _rows(db)
    assert (row.external_id, row.backend, row.host, row.trigger, row.run_key) == (
        info.run_id,
        "kfp",
        url,
        "drift",
        "2026-11-05",
    )


def test_launch_wait_returns_a_succeeded_run(kfp_settings: Settings, db: Database) -> None:
    info = launch(kfp_settings, {}, wait=True)
    assert info.status == "succeeded"
    (row,) = _rows(db)
    assert row.status == "succeeded"
    assert row.finished_at is not None


def test_failed_run_raises_pipeline_error_when_waiting(
    kfp_settings: Settings, db: Database, fake_kfp: tuple[str, FakeKfp]
) -> None:
    fake_kfp[1].run_states = ["RUNNING", "FAILED"]
    with pytest.raises(
        PipelineError, match=r"finished FAILED; see http://127\.0\.0\.1:\d+/#/runs/details/"
    ):
        launch(kfp_settings, {}, wait=True)
    assert [r.status for r in _rows(db)] == ["failed"]


def test_run_that_never_finishes_times_out_with_a_hint(
    kfp_settings: Settings, fake_kfp: tuple[str, FakeKfp]
) -> None:
    fake_kfp[1].run_states = ["RUNNING"]
    kfp_settings.kfp.timeout_seconds = 0.3
    with pytest.raises(PipelineError, match="did not finish within 0 s; it is still running"):
        launch(kfp_settings, {}, wait=True)


def test_second_launch_returns_the_in_flight_run(
    kfp_settings: Settings, db: Database, fake_kfp: tuple[str, FakeKfp]
) -> None:
    fake_kfp[1].run_states = ["RUNNING"]
    first = launch(kfp_settings, {})
    second = launch(kfp_settings, {"epochs": 1})
    assert second.deduplicated
    assert second.run_id == first.run_id
    assert len(fake_kfp[1].runs) == 1
    assert [r.external_id for r in _rows(db)] == [first.run_id]


def test_finished_run_no_longer_blocks_a_launch(
    kfp_settings: Settings, fake_kfp: tuple[str, FakeKfp]
) -> None:
    first = launch(kfp_settings, {})  # the fake reports it SUCCEEDED on the second poll
    run_status(kfp_settings, first.run_id)
    second = launch(kfp_settings, {})
    assert not second.deduplicated
    assert second.run_id != first.run_id


def test_server_down_is_one_clear_line(settings: Settings, db: Database) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    down = settings.model_copy(
        update={
            "kfp": settings.kfp.model_copy(
                update={"host": f"http://127.0.0.1:{port}", "data_uri": "/d"}
            )
        }
    )
    with pytest.raises(PipelineError) as caught:
        launch(down, {})
    message = str(caught.value)
    assert f"cannot reach the KFP API at 'http://127.0.0.1:{port}'" in message
    assert "\n" not in message
    # A launch that never reached a server must not block the next one.
    assert [r.status for r in _rows(db)] == ["failed"]


def test_unknown_parameter_is_rejected_with_the_valid_names(kfp_settings: Settings) -> None:
    with pytest.raises(
        PipelineError, match=r"unknown pipeline parameter\(s\) \['epoch'\]; valid: .*epochs"
    ):
        launch(kfp_settings, {"epoch": 2})


def test_missing_training_data_says_how_to_pass_it(kfp_settings: Settings) -> None:
    kfp_settings.kfp.data_uri = ""
    with pytest.raises(PipelineError, match="--param data_uri=DIR"):
        launch(kfp_settings, {})


def _cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DRIFTLOOP_HOME", str(settings.home))
    monkeypatch.setenv("DRIFTLOOP_KFP__POLL_SECONDS", "0.05")
    monkeypatch.setenv("DRIFTLOOP_KFP__DATA_URI", "/data/train")


def test_cli_run_wait_exits_nonzero_when_the_run_fails(
    kfp_settings: Settings,
    fake_kfp: tuple[str, FakeKfp],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, fake = fake_kfp
    _cli_env(monkeypatch, kfp_settings)
    fake.run_states = ["FAILED"]
    assert main(["pipeline", "run", "--host", url, "--wait", "--param", "epochs=1"]) == 1
    assert "finished FAILED" in capsys.readouterr().err
    fake.run_states = ["SUCCEEDED"]
    assert main(["pipeline", "run", "--host", url, "--wait"]) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out
    assert f"{url}/#/runs/details/" in out


def test_cli_upload_and_status(
    kfp_settings: Settings,
    fake_kfp: tuple[str, FakeKfp],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, fake = fake_kfp
    _cli_env(monkeypatch, kfp_settings)
    assert main(["pipeline", "upload", "--host", url, "--name", "retrain-x", "--version", "7"]) == 0
    assert "retrain-x" in [p["display_name"] for p in fake.pipelines.values()]
    fake.run_states = ["RUNNING"]
    assert main(["pipeline", "run", "--host", url, "--json"]) == 0
    run_id = next(iter(fake.runs))
    capsys.readouterr()
    assert main(["pipeline", "status", run_id]) == 0
    assert f"run {run_id} [kfp] running" in capsys.readouterr().out


def test_cli_server_down_exits_1_with_one_line(
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(monkeypatch, settings)
    assert main(["pipeline", "upload", "--host", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("driftloop: error: cannot reach the KFP API at 'http://127.0.0.1:9'")


def test_cli_bad_param_is_a_clear_error(
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(monkeypatch, settings)
    assert main(["pipeline", "run", "--local", "--param", "epochs=two"]) == 1
    assert "--param epochs='two' is not a valid integer" in capsys.readouterr().err


def test_status_of_an_unknown_run_says_where_it_looked(settings: Settings, db: Database) -> None:
    with pytest.raises(PipelineError, match="no pipeline run 'nope' recorded"):
        run_status(settings, "nope")


def test_package_path_that_does_not_exist_says_to_compile(
    kfp_settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(PipelineError, match="run 'driftloop pipeline compile'"):
        upload(kfp_settings, package=tmp_path / "missing.yaml")
