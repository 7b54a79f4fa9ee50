"""Model and tumour features from a real (tiny) Keras model on a demo production day.

One model is trained per module on the demo data's train/ folder; extraction
then runs through the Python API, the CLI with a folder, ``current`` (the
registry's champion) and a registered version, the way the monitoring steps call it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# Two cores are shared by many engineers: keep TensorFlow to a couple of threads.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np
import pytest

from driftloop.cli import main
from driftloop.constants import CLASSES, TUMOUR_CLASSES
from driftloop.features import extract, read_features
from driftloop.features.tumour import LESION_COLUMNS
from driftloop.ingest import ingest

pytestmark = pytest.mark.slow  # demo data (~10 s) + TensorFlow import and training (~18 s)

DAY = "2026-11-10"  # the class-prior day: more tumours than usual


@pytest.fixture(scope="module")
def real_model(demo_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """small_cnn trained on demo train/ at 64 px; 3 epochs (under a second more than 1) so
    that the day's predictions mix tumour and no-tumour classes, exercising both branches."""
    from driftloop.model import train

    out = tmp_path_factory.mktemp("real-model") / "model"
    result = train(demo_tiny / "train", str(out), epochs=3, batch_size=16, image_size=64, seed=3)
    return out, result


@pytest.fixture
def manifest(demo_tiny, settings, db, store) -> str:
    return ingest(
        str(demo_tiny / "production" / DAY), DAY, settings, db=db, store=store
    ).manifest_uri


def _check_model_columns(df, embedding_dim: int) -> None:
    assert set(df["pred_class"]) <= set(CLASSES)
    assert df["confidence"].between(0, 1).all()
    probs = df[[f"prob_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(df["confidence"], probs.max(axis=1), atol=1e-6)
    assert (df["margin"] >= 0).all() and (
        df["softmax_entropy"] <= math.log(len(CLASSES)) + 1e-6
    ).all()
    assert {len(e) for e in df["embedding"]} == {embedding_dim}
    assert np.isfinite(np.stack(df["embedding"].to_numpy())).all()
    tumour = df["pred_class"].isin(TUMOUR_CLASSES)
    lesions = df[list(LESION_COLUMNS)]
    assert np.isfinite(lesions[tumour].to_numpy()).all(), (
        "a tumour prediction lacks lesion features"
    )
    assert lesions[~tumour].isna().all().all(), "a no-tumour prediction has lesion features"
    assert lesions[tumour]["lesion_area_fraction"].between(0, 1).all()


def test_real_model_adds_model_and_tumour_features_to_a_demo_day(
    real_model, manifest, settings, tmp_path
):
    from driftloop.model import load_model

    model_dir, _ = real_model
    result = extract(manifest, str(tmp_path / "f"), settings, model_uri=str(model_dir), workers=2)
    df = read_features(str(tmp_path / "f"))
    assert len(df) == result.n_rows > 0 and result.n_failed == 0
    _check_model_columns(df, load_model(str(model_dir)).embedding_dim)
    tumour = df["pred_class"].isin(TUMOUR_CLASSES)
    assert tumour.any() and (~tumour).any(), "the fixture model should predict both kinds here"


def test_cli_extract_with_a_model_folder_writes_model_columns(
    real_model, manifest, settings, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DRIFTLOOP_HOME", str(settings.home))
    model_dir, _ = real_model
    out = tmp_path / "cli"
    code = main(["extract", "--manifest", manifest, "--out", str(out), "--model", str(model_dir),
                 "--workers", "1"])  # fmt: skip
    assert code == 0 and "failed 0" in capsys.readouterr().out
    _check_model_columns(read_features(str(out)), 64)


def test_extract_resolves_current_and_a_registered_version_through_the_registry(
    real_model, manifest, settings, db, store, tmp_path, monkeypatch, capsys
):
    from driftloop.model import Registry, forced_decision

    model_dir, trained = real_model
    registry = Registry(db, store)
    version = registry.register(str(model_dir), metrics=trained.metrics,
                                fingerprint=trained.fingerprint, arch="small_cnn")  # fmt: skip
    by_version = extract(manifest, str(tmp_path / "v"), settings, model_uri=version, workers=1)
    assert by_version.n_rows > 0
    assert registry.promote(version, forced_decision(version, "test", "feature test"), "test")
    monkeypatch.setenv("DRIFTLOOP_HOME", str(settings.home))
    assert main(["extract", "--manifest", manifest, "--out", str(tmp_path / "c"),
                 "--model", "current", "--workers", "1"]) == 0  # fmt: skip
    current = read_features(str(tmp_path / "c"))
    _check_model_columns(current, 64)
    # Same model either way: identical predictions.
    assert list(current["pred_class"]) == list(read_features(str(tmp_path / "v"))["pred_class"])
