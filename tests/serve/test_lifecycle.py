"""Reload under load, clean shutdown, token, CORS, monitoring endpoints, and the loop into ingest."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serve_helpers import LiveServer, log_rows, make_env, promote_model

from driftloop.client import ApiError
from driftloop.config import Settings
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database
from driftloop.storage.models import DriftFeatureResult, MonitoringRun


@pytest.mark.postgres
def test_reload_during_load_answers_and_logs_every_request(
    any_db_url: str, tmp_path: Path, served_model: Path, sample_images: list[Path]
) -> None:
    settings, db = make_env(tmp_path, any_db_url, served_model)
    images = [p.read_bytes() for p in sample_images[:20]]
    try:
        with LiveServer(settings) as live:
            first = live.state.holder.version
            promote_model(db, ArtifactStore(settings.artifacts_uri), served_model)
            with ThreadPoolExecutor(8) as pool, live.client() as api:
                futures = [pool.submit(api.predict, images[i % len(images)]) for i in range(200)]
                reloads = [api.reload() for _ in range(3)]
                answers = [f.result() for f in futures]
        rows = log_rows(db)
    finally:
        db.dispose()
    assert len(answers) == 200
    assert reloads[0]["previous_version"] == first and reloads[0]["changed"] is True
    assert {a["model_version"] for a in answers} <= {first, reloads[0]["model_version"]}
    assert sorted(r.request_id for r in rows) == sorted(a["request_id"] for a in answers)


def test_clean_shutdown_writes_every_queued_log_row(
    sqlite_env: tuple[Settings, Database], sample_images: list[Path]
) -> None:
    settings = sqlite_env[0].model_copy(deep=True)
    settings.serving.log_flush_ms = 600_000  # nothing is flushed before the shutdown
    settings.serving.log_batch_rows = 10_000
    with LiveServer(settings) as live, live.client() as api:
        ids = [api.predict(p)["request_id"] for p in sample_images[:12]]
        assert live.state.writer.pending == 12 and log_rows(sqlite_env[1]) == []
        live.stop()
    assert sorted(r.request_id for r in log_rows(sqlite_env[1])) == sorted(ids)


def test_token_is_required_for_feedback_reload_and_monitoring_only(
    tmp_path: Path, served_model: Path, sample_images: list[Path]
) -> None:
    settings, db = make_env(
        tmp_path, f"sqlite:///{tmp_path / 't.db'}", served_model, api_token="s3cret"
    )
    with LiveServer(settings) as live:
        with live.client() as anonymous:
            rid = anonymous.predict(sample_images[0])["request_id"]  # /predict is open
            assert anonymous.health()["status"] == "ok"
            for call in (lambda: anonymous.feedback(rid, "glioma"), anonymous.reload,
                         anonymous.runs, anonymous.latest_drift):  # fmt: skip
                with pytest.raises(ApiError) as info:
                    call()
                assert info.value.status == 401 and info.value.code == "unauthorized"
        with live.client(token="wrong") as wrong, pytest.raises(ApiError) as info:
            wrong.reload()
        assert "wrong" in info.value.detail
        with live.client(token="s3cret") as api:
            assert api.feedback(rid, "glioma")["label"] == "glioma"
            assert api.runs() == []
        by_header = httpx.post(f"{live.url}/reload", headers={"X-API-Token": "s3cret"}, timeout=60)
        assert by_header.status_code == 200
    db.dispose()


def test_cors_is_off_unless_origins_are_configured(
    tmp_path: Path, served_model: Path, server: LiveServer
) -> None:
    preflight = {"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"}
    closed = httpx.options(f"{server.url}/predict", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    settings, db = make_env(
        tmp_path / "cors", f"sqlite:///{tmp_path / 'c.db'}", served_model,
        cors_origins=["http://ui.example"],
    )  # fmt: skip
    with LiveServer(settings) as live:
        opened = httpx.options(f"{live.url}/predict", headers=preflight)
    db.dispose()
    assert opened.headers["access-control-allow-origin"] == "http://ui.example"


def test_monitoring_endpoints_show_runs_and_the_latest_drift(
    server: LiveServer, sqlite_env: tuple[Settings, Database]
) -> None:
    with sqlite_env[1].session() as s:
        for day, severity in ((dt.date(2026, 11, 1), "none"), (dt.date(2026, 11, 2), "high")):
            run = MonitoringRun(run_key=day.isoformat(), logical_date=day, severity=severity,
                                report_uri=f"/r/{day}/index.html")  # fmt: skip
            run.features.append(DriftFeatureResult(feature="mean", test="ks", p_value=0.001,
                                                   drifted=severity == "high"))  # fmt: skip
            s.add(run)
        s.add(MonitoringRun(run_key="2026-11-03", logical_date=dt.date(2026, 11, 3)))
    with server.client() as api:
        runs = api.runs()
        latest = api.latest_drift()
        first = api.run(runs[-1]["id"])
        with pytest.raises(ApiError) as info:
            api.run(9999)
    assert [r["run_key"] for r in runs] == ["2026-11-03", "2026-11-02", "2026-11-01"]
    assert latest["run_key"] == "2026-11-02" and latest["drifted_features"] == ["mean"]
    assert latest["report_uri"] == "/r/2026-11-02/index.html"
    assert first["severity"] == "none" and first["n_drifted"] == 0
    assert info.value.status == 404 and info.value.code == "unknown_run"


def test_served_images_are_picked_up_by_ingest_over_the_predictions_log(
    server: LiveServer, sqlite_env: tuple[Settings, Database], sample_images: list[Path]
) -> None:
    from driftloop.ingest import ingest, read_manifest

    settings, db = sqlite_env
    with server.client() as api:
        served = {api.predict(p)["image_sha256"] for p in sample_images[:6]}
    server.stop()
    today = dt.datetime.now(dt.UTC).date()
    summary = ingest("predictions-log://", today, settings, db=db)
    manifest = read_manifest(summary.manifest_uri)
    assert summary.n_accepted == len(served)
    assert set(manifest.loc[manifest.status == "accepted", "sha256"]) == served


def test_serve_openapi_command_writes_the_schema_with_every_endpoint(
    sqlite_env: tuple[Settings, Database], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from driftloop.cli import main

    monkeypatch.setenv("DRIFTLOOP_HOME", str(sqlite_env[0].home))
    monkeypatch.setenv("DRIFTLOOP_DATABASE_URL", sqlite_env[0].db_url)
    out = tmp_path / "openapi.json"
    assert main(["serve", "openapi", "--out", str(out)]) == 0
    paths = json.loads(out.read_text())["paths"]
    assert set(paths) >= {"/health", "/predict", "/feedback", "/reload", "/monitoring/runs"}
    body = paths["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
