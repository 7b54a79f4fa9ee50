"""Image, model and tumour features: correct values, catalog columns, extraction end to end."""

from __future__ import annotations

import io
import math
from types import SimpleNamespace

import numpy as np
import pytest
from ingest_images import dicom_bytes, jpeg_bytes, phantom, png_bytes
from PIL import Image

from driftloop.constants import CLASSES
from driftloop.features import extract, load_image, read_features
from driftloop.features.catalog import FEATURES, feature_names, markdown_table
from driftloop.features.compute import image_features, noise_sigma, sharpness
from driftloop.features.image import jpeg_quality
from driftloop.features.model_features import add_model_features
from driftloop.ingest import ingest

INTENSITY = feature_names("intensity")
# Documented tolerance (docs/ingest.md): same pixels in DICOM and PNG -> intensity
# features equal within 0.5 grey level (both decode exactly; only float rounding differs).
TOL = 0.5


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_dicom_and_png_with_the_same_pixels_give_the_same_intensity_features(tmp_path):
    pixels = phantom(96, 3)
    pixels[0, 0], pixels[0, 1] = 0, 255  # full range, so min-max windowing is the identity
    png = image_features(_write(tmp_path, "a.png", png_bytes(pixels)), 64)
    dcm = image_features(_write(tmp_path, "a.dcm", dicom_bytes(pixels.astype(np.uint16))), 64)
    for name in INTENSITY:
        assert abs(png[name] - dcm[name]) <= TOL * max(1.0, abs(png[name]) / 255), name


def test_dicom_rescale_and_window_map_to_eight_bits(tmp_path):
    want = phantom(64, 4)
    stored = ((want.astype(np.float64) + 1024.0) / 2.0).astype(np.uint16)  # value = 2*s - 1024
    data = dicom_bytes(stored, slope=2.0, intercept=-1024.0, window=(127.5, 256.0))
    got, meta = load_image(_write(tmp_path, "w.dcm", data))
    assert meta.format == "DICOM" and got.dtype == np.uint8
    assert np.abs(got.astype(int) - (2 * stored.astype(int) - 1024).clip(0, 255)).max() <= 1


@pytest.mark.parametrize("quality", [50, 75, 95])
def test_jpeg_quality_is_estimated_from_quantisation_tables(quality):
    im = Image.open(io.BytesIO(jpeg_bytes(phantom(64), quality=quality)))
    assert abs(jpeg_quality(im.quantization) - quality) <= 2


def test_jpeg_quality_is_nan_for_png(tmp_path):
    assert math.isnan(
        image_features(_write(tmp_path, "a.png", png_bytes(phantom(64))), 64)["jpeg_quality"]
    )


def test_noise_estimate_recovers_gaussian_sigma():
    rng = np.random.default_rng(0)
    flat = np.rint(np.full((128, 128), 100.0) + rng.normal(0, 10, (128, 128))).astype(np.uint8)
    assert noise_sigma(flat) == pytest.approx(10, rel=0.1)


def test_blur_lowers_sharpness():
    img = phantom(128)
    blurred = np.asarray(Image.fromarray(phantom(128)).resize((32, 32)).resize((128, 128)))
    assert sharpness(blurred) < sharpness(img) / 2


def test_low_quality_jpeg_is_blockier_than_png(tmp_path):
    img = phantom(256, 6)
    low = image_features(_write(tmp_path, "l.jpg", jpeg_bytes(img, quality=10)), 256)
    png = image_features(_write(tmp_path, "p.png", png_bytes(img)), 256)
    assert low["blockiness"] > png["blockiness"] + 0.1


def test_anatomy_finds_the_centred_disc(tmp_path):
    row = image_features(_write(tmp_path, "d.png", png_bytes(phantom(128))), 128)
    assert row["centroid_x"] == pytest.approx(0.5, abs=0.02)
    assert row["foreground_fraction"] == pytest.approx(math.pi * 0.38**2, abs=0.03)


def test_size_independent_features_agree_across_resolutions(tmp_path):
    big = phantom(512, 1)
    small = np.asarray(Image.fromarray(big).resize((256, 256), Image.Resampling.BILINEAR))
    a = image_features(_write(tmp_path, "b.png", png_bytes(big)), 128)
    b = image_features(_write(tmp_path, "s.png", png_bytes(small)), 128)
    assert (
        abs(a["mean"] - b["mean"]) < 1
        and abs(a["foreground_fraction"] - b["foreground_fraction"]) < 0.01
    )


def test_rgb_image_has_three_channels(tmp_path):
    rgb = np.stack([phantom(64)] * 3, axis=-1)
    assert image_features(_write(tmp_path, "c.jpg", jpeg_bytes(rgb)), 64)["channels"] == 3


def test_catalog_documents_exactly_the_image_columns(tmp_path):
    row = image_features(_write(tmp_path, "a.jpg", jpeg_bytes(phantom(64))), 64)
    assert set(row) == set(feature_names("basic", "intensity", "quality", "anatomy"))
    assert len({f.name for f in FEATURES}) == len(FEATURES)
    assert all(f"`{f.name}`" in markdown_table() for f in FEATURES)


def test_extract_writes_one_part_per_shard_with_a_process_pool(
    dirty_dir, settings, db, store, tmp_path
):
    settings.ingest.shard_size = 2
    summary = ingest(str(dirty_dir), "2026-11-05", settings, db=db, store=store)
    out = str(tmp_path / "features")
    result = extract(summary.manifest_uri, out, settings, workers=2)
    assert len(result.uris) == len(summary.shards) == 2 and result.n_failed == 0
    df = read_features(out)
    assert len(df) == result.n_rows == summary.n_accepted
    assert {"uri", "sha256", *feature_names("basic")} <= set(df.columns)
    one = extract(summary.manifest_uri, str(tmp_path / "one"), settings, shard=1, workers=1)
    assert [u.rsplit("/", 1)[-1] for u in one.uris] == ["part-00001.parquet"]


class FakeModel:
    """Satisfies the ClassifierLike protocol: first class wins, saliency is a blob."""

    classes = CLASSES

    def predict_arrays(self, arrays, batch_size=64):
        n = len(arrays)
        probs = np.tile(np.array([0.7, 0.1, 0.1, 0.1], dtype=np.float32), (n, 1))
        return SimpleNamespace(probabilities=probs, embeddings=np.ones((n, 5), np.float32),
                               pred_class=["glioma"] * n, confidence=probs[:, 0])  # fmt: skip

    def saliency(self, arrays, batch_size=32):
        h, w = np.asarray(arrays[0]).shape[:2]
        yy, xx = np.mgrid[:h, :w]
        blob = np.exp(-(((xx - w * 0.6) ** 2 + (yy - h * 0.4) ** 2) / (2 * (w * 0.06) ** 2)))
        return np.stack([blob] * len(arrays))


def test_model_and_tumour_features_are_added_in_batches():
    rows = [{} for _ in range(3)]
    add_model_features(rows, [phantom(96)] * 3, FakeModel(), batch_size=2)
    r = rows[0]
    assert r["pred_class"] == "glioma" and r["margin"] == pytest.approx(0.6)
    assert r["softmax_entropy"] == pytest.approx(-(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1)))
    assert r["prob_glioma"] == pytest.approx(0.7) and len(r["embedding"]) == 5
    assert r["lesion_centroid_x"] == pytest.approx(0.6, abs=0.03)
    assert r["lesion_centroid_y"] == pytest.approx(0.4, abs=0.03)
    assert 0 < r["lesion_area_fraction"] < 0.2 and 0.9 < r["lesion_solidity"] <= 1


def test_extract_accepts_a_manifest_with_unknown_file_sizes(tmp_path, settings):
    from driftloop.ingest.manifest import ManifestRow, write_manifest
    from driftloop.storage.artifacts import ArtifactStore

    path = _write(tmp_path, "a.jpg", jpeg_bytes(phantom(64)))
    row = ManifestRow(path, "0" * 64, "JPEG", "accepted", None, None, None, 64, 64, 0)
    manifest = write_manifest([row], str(tmp_path / "m.parquet"), ArtifactStore(tmp_path))
    assert extract(manifest, str(tmp_path / "f"), settings, workers=1).n_rows == 1


def test_blockiness_orders_jpeg_quality_on_large_files_at_a_small_working_size(tmp_path):
    # 512 px files at working size 128: blocks must be measured on the full-resolution
    # 8x8 grid (a DCT-scaled decode blurs them away and quality 10 read as 95 did).
    img = phantom(512, 6)
    value = {
        q: image_features(_write(tmp_path, f"{q}.jpg", jpeg_bytes(img, quality=q)), 128)[
            "blockiness"
        ]
        for q in (10, 50, 95)
    }
    png = image_features(_write(tmp_path, "p.png", png_bytes(img)), 128)["blockiness"]
    assert value[10] > value[50] > value[95] > png - 0.05
    assert value[10] > 2 * value[95]


def test_blockiness_crop_is_central_and_on_the_8_pixel_grid():
    from driftloop.features.image import crop_box

    assert crop_box(512, 512) == (192, 192, 320, 320)
    assert crop_box(300, 200) == (80, 32, 208, 160)  # 86 -> 80, 36 -> 32: multiples of 8
    assert crop_box(100, 60) == (0, 0, 100, 60)  # smaller than the crop: the whole image
