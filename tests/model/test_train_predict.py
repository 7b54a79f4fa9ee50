"""Training writes a complete model folder; prediction, saliency and evaluation use it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from driftloop.constants import CLASSES
from driftloop.errors import InputError, ModelError
from driftloop.model import evaluate, load_model, predict_dir, train
from driftloop.model.data import fingerprint, list_labelled

METRIC_KEYS = {"accuracy", "macro_auc", "macro_f1", "per_class", "confusion_matrix", "evaluated_on"}


def test_training_writes_model_metrics_classes_and_fingerprint(trained_model: Path) -> None:
    for name in ("model.keras", "metrics.json", "classes.json", "fingerprint.txt", "train.json"):
        assert (trained_model / name).is_file(), name
    metrics = json.loads((trained_model / "metrics.json").read_text())
    assert metrics.keys() >= METRIC_KEYS
    assert set(metrics["per_class"]) == set(CLASSES)
    assert {"precision", "recall", "f1"} <= metrics["per_class"]["glioma"].keys()
    assert np.array(metrics["confusion_matrix"]).shape == (4, 4)
    assert json.loads((trained_model / "classes.json").read_text()) == list(CLASSES)
    # The blobs are easy: a working training loop must separate them.
    assert metrics["macro_auc"] >= 0.9


def test_fingerprint_changes_when_a_label_changes(blob_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "train"
    shutil.copytree(blob_data / "train", copy)
    before = fingerprint(list_labelled(copy))
    assert before == fingerprint(list_labelled(copy))  # stable across calls
    moved = next((copy / "glioma").iterdir())
    moved.rename(copy / "meningioma" / moved.name)
    assert fingerprint(list_labelled(copy)) != before


def test_unknown_feedback_label_fails_with_the_name(blob_data: Path, tmp_path: Path) -> None:
    feedback = tmp_path / "feedback"
    (feedback / "astrocytoma").mkdir(parents=True)
    shutil.copy(next((blob_data / "train" / "glioma").iterdir()), feedback / "astrocytoma")
    with pytest.raises(InputError, match="astrocytoma"):
        train(blob_data / "train", str(tmp_path / "out"), epochs=1, feedback_dir=feedback)


def test_missing_class_folder_is_an_input_error(blob_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(blob_data / "train", data)
    shutil.rmtree(data / "pituitary")
    with pytest.raises(InputError, match="pituitary"):
        train(data, str(tmp_path / "out"), epochs=1)


def test_unknown_architecture_is_rejected(blob_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="resnet"):
        train(blob_data / "train", str(tmp_path / "out"), arch="resnet")


def test_predict_arrays_accepts_grey_and_rgb_of_any_size(trained_model: Path) -> None:
    model = load_model(trained_model)
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 255, (72, 72), dtype=np.uint8),
        rng.integers(0, 255, (300, 200, 3), dtype=np.uint8),
        rng.integers(0, 255, (50, 90, 1), dtype=np.uint8),
    ]
    preds = model.predict_arrays(arrays, batch_size=2)
    assert preds.probabilities.shape == (3, 4) and preds.probabilities.dtype == np.float32
    assert np.allclose(preds.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert preds.embeddings.shape == (3, model.embedding_dim)
    assert all(c in CLASSES for c in preds.pred_class)
    assert np.allclose(preds.confidence, preds.probabilities.max(axis=1))


def test_raw_pixels_of_any_size_go_straight_into_the_keras_model(trained_model: Path) -> None:
    model = load_model(trained_model)
    raw = np.full((1, 150, 130, 1), 100.0, dtype=np.float32)
    out = np.asarray(model.keras_model(raw))
    assert out.shape == (1, 4)


def test_bad_array_shape_is_an_input_error(trained_model: Path) -> None:
    with pytest.raises(InputError, match="shape"):
        load_model(trained_model).predict_arrays([np.zeros((4, 4, 4, 4), np.uint8)])


def test_saliency_is_in_unit_range_at_each_input_size(trained_model: Path, blob_data: Path) -> None:
    model = load_model(trained_model)
    files = sorted((blob_data / "reference" / "glioma").iterdir())[:4]
    arrays = [np.asarray(Image.open(p)) for p in files]
    maps = model.saliency(arrays)
    assert maps.shape == (4, 72, 72) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    mixed = model.saliency([arrays[0], np.asarray(Image.open(files[1]).resize((40, 60)))])
    assert [m.shape for m in mixed] == [(72, 72), (60, 40)]


def test_evaluate_gives_the_training_metric_keys(trained_model: Path, blob_data: Path) -> None:
    metrics = evaluate(str(trained_model), blob_data / "reference")
    assert metrics.keys() >= METRIC_KEYS and metrics["n"] == 32
    assert metrics["evaluated_on"] == fingerprint(list_labelled(blob_data / "reference"))


def test_predict_dir_writes_one_row_per_image_and_skips_bad_files(
    trained_model: Path, blob_data: Path, tmp_path: Path
) -> None:
    import pandas as pd

    images = tmp_path / "images"
    shutil.copytree(blob_data / "reference" / "meningioma", images)
    (images / "truncated.jpg").write_bytes(b"\xff\xd8\xff not really")
    out = tmp_path / "preds" / "p.parquet"
    summary = predict_dir(trained_model, images, out, batch_size=3)
    assert summary == {**summary, "n_images": 8, "n_failed": 1}
    df = pd.read_parquet(out)
    assert len(df) == 8
    assert {"uri", "pred_class", "confidence", "embedding"} <= set(df.columns)
    assert {f"prob_{c}" for c in CLASSES} <= set(df.columns)
    assert len(df["embedding"].iloc[0]) == load_model(trained_model).embedding_dim


def test_predict_dir_rows_follow_the_files_and_match_predict_arrays(
    trained_model: Path, blob_data: Path, tmp_path: Path
) -> None:
    """Decoding runs ahead on several threads; rows must still line up with their files."""
    import pandas as pd

    from driftloop.model.data import decode_image, list_images

    images = tmp_path / "mixed"
    images.mkdir()
    for i, src in enumerate(sorted((blob_data / "reference").rglob("*.png"))[:23]):
        Image.open(src).convert("L").save(images / f"{i:03d}.jpg", quality=90)
    (images / "010_broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    model = load_model(trained_model)
    out = tmp_path / "p.parquet"
    predict_dir(model, images, out, batch_size=4)
    df = pd.read_parquet(out)
    good = [p for p in list_images(images) if p.name != "010_broken.jpg"]
    assert df["uri"].tolist() == [str(p.resolve()) for p in good]
    want = model.predict_arrays([decode_image(p, model.image_size) for p in good])
    np.testing.assert_allclose(df[[f"prob_{c}" for c in CLASSES]].to_numpy(), want.probabilities,
                               rtol=1e-5, atol=1e-6)  # fmt: skip


def test_uint8_and_float32_batches_give_the_same_predictions(trained_model: Path) -> None:
    model = load_model(trained_model)
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (5, model.image_size, model.image_size, 1)).astype(np.uint8)
    p8, e8 = model.predict_batch(u8)
    p32, e32 = model.predict_batch(u8.astype(np.float32))
    np.testing.assert_allclose(p8, p32, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(e8, e32, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(256, 256), (400, 300), (1030, 777), (130, 140), (64, 64)])
def test_grey_jpeg_decode_gives_the_pixels_of_pils_draft_decode(
    shape: tuple[int, int], tmp_path: Path
) -> None:
    import io

    from driftloop.model.data import _grey_jpeg_draft, decode_image

    rng = np.random.default_rng(1)
    pixels = rng.normal(100, 30, shape).clip(0, 255).astype(np.uint8)
    path = tmp_path / "a.jpg"
    Image.fromarray(pixels).save(path, quality=85)
    with Image.open(io.BytesIO(path.read_bytes())) as img:
        img.draft("L", (128, 128))
        want = np.asarray(img.convert("L").resize((128, 128), Image.Resampling.BILINEAR))
    fast = _grey_jpeg_draft(path.read_bytes(), 128)
    assert fast is not None
    np.testing.assert_array_equal(fast, want)
    np.testing.assert_array_equal(decode_image(path, 128), want)


def test_colour_jpegs_and_broken_files_are_left_to_pil(tmp_path: Path) -> None:
    from driftloop.model.data import _grey_jpeg_draft, decode_image

    colour = tmp_path / "c.jpg"
    Image.new("RGB", (300, 300), (200, 30, 30)).save(colour)
    assert _grey_jpeg_draft(colour.read_bytes(), 128) is None
    assert decode_image(colour, 128).shape == (128, 128)
    broken = tmp_path / "b.jpg"
    broken.write_bytes(colour.read_bytes()[:300])
    assert _grey_jpeg_draft(broken.read_bytes(), 128) is None
    with pytest.raises(InputError, match="b.jpg"):
        decode_image(broken, 128)


def test_the_decode_threads_run_at_idle_priority() -> None:
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from driftloop.model.predict import _lower_priority

    if not hasattr(os, "SCHED_IDLE"):
        pytest.skip("SCHED_IDLE is Linux only")
    with ThreadPoolExecutor(1, initializer=_lower_priority) as pool:
        policy = pool.submit(lambda: os.sched_getscheduler(threading.get_native_id())).result()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the calling thread is untouched


def test_loading_a_folder_without_a_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load model"):
        load_model(tmp_path)


def test_efficientnet_b0_builds_and_runs_one_batch() -> None:
    from driftloop.model.arch import build_model

    model = build_model("efficientnet_b0", image_size=64, n_classes=4)
    out = np.asarray(model(np.zeros((2, 80, 70, 1), np.float32)))
    assert out.shape == (2, 4)
    assert model.get_layer("embedding").output.shape[-1] == 64
    assert model.get_layer("top_activation") is not None


def test_training_on_demo_tiny_merges_feedback(demo_tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = train(
        demo_tiny / "train",
        str(out),
        epochs=2,
        batch_size=32,
        image_size=64,
        seed=1,
        feedback_dir=demo_tiny / "feedback",
    )
    params = json.loads((out / "train.json").read_text())
    n_feedback = sum(1 for _ in (demo_tiny / "feedback").rglob("*.jpg"))
    assert params["n_feedback"] == n_feedback > 0
    assert params["n_train"] + params["n_val"] == 160 + n_feedback
    assert len(result.fingerprint) == 64
    assert (out / "fingerprint.txt").read_text().strip() == result.fingerprint
    assert 0.0 <= result.metrics["macro_auc"] <= 1.0
    metrics = evaluate(result.model_uri, demo_tiny / "reference")
    assert metrics["n"] == 60
