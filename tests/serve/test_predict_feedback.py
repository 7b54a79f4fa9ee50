"""/predict logs a row and stores the image; /feedback files the image under its label."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from serve_helpers import LiveServer, files_under, log_rows, make_env

from driftloop.config import Settings
from driftloop.constants import CLASSES
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database


@pytest.mark.postgres
def test_predict_logs_a_row_and_stores_the_image_on_each_database(
    any_db_url: str, tmp_path: Path, served_model: Path, sample_images: list[Path]
) -> None:
    settings, db = make_env(tmp_path, any_db_url, served_model)
    layout = Layout(ArtifactStore(settings.artifacts_uri))
    image = sample_images[0]
    try:
        with LiveServer(settings) as live, live.client() as api:
            multipart = api.predict(image)
            as_b64 = api.predict(sample_images[1], as_base64=True)
            done = api.feedback(multipart["request_id"], "glioma")
        rows = log_rows(db)
    finally:
        db.dispose()
    assert multipart["predicted_class"] in CLASSES
    assert set(multipart["probabilities"]) == set(CLASSES)
    assert abs(sum(multipart["probabilities"].values()) - 1) < 1e-3
    assert multipart["image_sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert {r.request_id for r in rows} == {multipart["request_id"], as_b64["request_id"]}
    day = dt.datetime.now(dt.UTC).date().isoformat()
    first = next(r for r in rows if r.request_id == multipart["request_id"])
    assert first.image_uri == f"{layout.predictions_dir()}/{day}/{first.image_sha256}.jpg"
    assert Path(first.image_uri).read_bytes() == image.read_bytes()
    assert first.model_version == multipart["model_version"]
    assert {"mean", "std", "width", "height", "format"} <= set(first.features)
    assert first.feedback_label == "glioma" and first.feedback_at is not None
    labelled = Path(layout.feedback_dir()) / "glioma" / f"{first.image_sha256}.jpg"
    assert done["image_uri"] == str(labelled) and labelled.read_bytes() == image.read_bytes()


def test_feedback_with_an_image_creates_the_row_when_none_exists(
    server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout,
    sample_images: list[Path],
) -> None:  # fmt: skip
    with server.client() as api:
        answer = api.feedback(None, "meningioma", image=sample_images[2])
        again = api.feedback(None, "pituitary", image=sample_images[2])
    rows = log_rows(sqlite_env[1])
    assert answer["created"] is True and again["created"] is False
    assert len(rows) == 1 and rows[0].feedback_label == "pituitary"
    # A corrected label moves the copy: retraining sees the image under one class only.
    assert [p.parent.name for p in files_under(Path(layout.feedback_dir()))] == ["pituitary"]
    assert len(files_under(Path(layout.predictions_dir()))) == 1


def test_feedback_on_a_prediction_still_in_the_write_queue_finds_its_row(
    sqlite_env: tuple[Settings, Database], sample_images: list[Path]
) -> None:
    settings = sqlite_env[0].model_copy(deep=True)
    settings.serving.log_flush_ms = 60_000
    settings.serving.log_batch_rows = 10_000
    with LiveServer(settings) as live, live.client() as api:
        rid = api.predict(sample_images[3])["request_id"]
        assert api.feedback(rid, "notumor")["label"] == "notumor"
    assert log_rows(sqlite_env[1])[0].feedback_label == "notumor"


def test_health_reports_model_baseline_and_database(server: LiveServer) -> None:
    with server.client() as api:
        health = api.health()
    assert health["status"] == "ok" and health["database"] is True
    assert health["model_version"] == server.state.holder.version
    assert health["baseline_version"] is None
