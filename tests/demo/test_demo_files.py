"""The dirty day holds every bad kind; the DICOM day is valid 16-bit DICOM; classes are learnable."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from driftloop.constants import CLASSES
from driftloop.demo.badfiles import BAD_KINDS, BOMB_SIDE
from driftloop.demo.dicom import RESCALE_INTERCEPT, RESCALE_SLOPE


def _dirty(
    demo_tiny: Path, demo_scenarios: dict[str, Any], day_of: dict[str, str]
) -> tuple[Path, dict[str, str]]:
    date = day_of["dirty"]
    return demo_tiny / "production" / date, demo_scenarios[date]["bad_files"]


def _by_kind(kinds: dict[str, str], kind: str) -> str:
    return next(name for name, k in kinds.items() if k == kind)


def test_dirty_day_lists_every_bad_kind(
    demo_tiny: Path, demo_scenarios: dict[str, Any], day_of: dict[str, str]
) -> None:
    folder, kinds = _dirty(demo_tiny, demo_scenarios, day_of)
    assert set(kinds.values()) == {*BAD_KINDS, "duplicate"}
    assert all((folder / name).exists() for name in kinds)


def test_dirty_files_fail_the_way_their_kind_says(
    demo_tiny: Path, demo_scenarios: dict[str, Any], day_of: dict[str, str]
) -> None:
    import pydicom

    folder, kinds = _dirty(demo_tiny, demo_scenarios, day_of)
    assert (folder / _by_kind(kinds, "zero_byte")).stat().st_size == 0
    with pytest.raises(UnidentifiedImageError):
        Image.open(folder / _by_kind(kinds, "text_as_jpeg"))
    with (
        Image.open(folder / _by_kind(kinds, "truncated_jpeg")) as im,
        pytest.raises(OSError, match="truncated"),
    ):
        im.load()
    bomb = folder / _by_kind(kinds, "huge_dimensions")
    assert bomb.stat().st_size < 2000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(bomb)
    with Image.open(folder / _by_kind(kinds, "rgb")) as im:
        assert im.mode == "RGB"
        rgb = np.asarray(im).astype(int)
        assert np.abs(rgb[:, :, 0] - rgb[:, :, 1]).max() > 100
    ds = pydicom.dcmread(folder / _by_kind(kinds, "dicom_no_pixels"))
    assert "PixelData" not in ds and ds.Modality == "MR"
    assert BOMB_SIDE == 30000


def test_duplicates_are_byte_identical_copies(
    demo_tiny: Path, demo_scenarios: dict[str, Any], day_of: dict[str, str]
) -> None:
    folder, kinds = _dirty(demo_tiny, demo_scenarios, day_of)
    copies = [n for n, k in kinds.items() if k == "duplicate"]
    assert copies
    for copy in copies:
        original = folder / copy.replace("_copy", "")
        assert (
            hashlib.sha256(original.read_bytes()).digest()
            == hashlib.sha256((folder / copy).read_bytes()).digest()
        )


def test_dicom_day_is_16_bit_with_rescale_and_window(
    demo_tiny: Path, day_of: dict[str, str]
) -> None:
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    files = sorted((demo_tiny / "production" / day_of["dicom"]).glob("*"))
    assert files and all(p.suffix == ".dcm" for p in files)
    ds = pydicom.dcmread(files[0])
    assert ds.BitsAllocated == 16 and ds.Rows == 256
    assert (
        float(ds.RescaleSlope) == RESCALE_SLOPE and float(ds.RescaleIntercept) == RESCALE_INTERCEPT
    )
    modality = apply_modality_lut(ds.pixel_array, ds)
    shown = apply_voi_lut(modality, ds)
    grey = (shown - shown.min()) / (float(ds.WindowWidth)) * 255.0
    assert 20 < grey.mean() < 150  # a head on a dark background, like the JPEG days
    assert len({pydicom.dcmread(p).SOPInstanceUID for p in files}) == len(files)


def _dataset(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for ci, cls in enumerate(CLASSES):
        for p in sorted((root / split / cls).glob("*.jpg")):
            with Image.open(p) as im:
                xs.append(np.asarray(im.convert("L"), np.float32) / 255.0)
            ys.append(ci)
    return np.stack(xs), np.array(ys)


def _histogram_features(images: np.ndarray) -> np.ndarray:
    # Intensities relative to the head's median (so gain drops out), plus head area.
    rows = []
    for image in images:
        head = image > 0.1
        values = image[head] / np.median(image[head])
        rows.append(
            np.r_[np.histogram(values, bins=40, range=(0, 2))[0] / values.size, head.mean()]
        )
    return np.array(rows)


def test_a_simple_classifier_learns_the_classes_but_mean_brightness_does_not(
    demo_tiny: Path,
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = _dataset(demo_tiny, "train")
    x_ref, y_ref = _dataset(demo_tiny, "reference")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.03))
    accuracy = model.fit(_histogram_features(x_train), y_train).score(
        _histogram_features(x_ref), y_ref
    )
    mean_train = x_train.mean(axis=(1, 2))[:, None]
    mean_ref = x_ref.mean(axis=(1, 2))[:, None]
    brightness_acc = (
        LogisticRegression(max_iter=2000).fit(mean_train, y_train).score(mean_ref, y_ref)
    )
    assert accuracy > 0.5, accuracy  # chance is 0.25
    assert brightness_acc < 0.4, brightness_acc
