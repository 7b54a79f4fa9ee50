"""Fixtures for the model tests: tiny labelled image folders and one trained model."""

from __future__ import annotations

import os
from pathlib import Path

# Two cores are shared by many engineers: keep TensorFlow to a couple of threads.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np
import pytest
from PIL import Image, ImageDraw

from driftloop.constants import CLASSES

# Where each class puts its bright blob (None = no tumour), as fractions of the side.
_BLOBS: dict[str, tuple[float, float, float] | None] = {
    "glioma": (0.35, 0.40, 0.16),
    "meningioma": (0.70, 0.28, 0.10),
    "notumor": None,
    "pituitary": (0.50, 0.72, 0.07),
}


def draw_scan(cls: str, rng: np.random.Generator, size: int = 72) -> Image.Image:
    """A grey 'head' ellipse with a class-specific bright blob and noise."""
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    m = size * 0.08
    draw.ellipse((m, m * 1.2, size - m, size - m * 1.2), fill=int(rng.integers(90, 120)))
    blob = _BLOBS[cls]
    if blob is not None:
        cx, cy, r = (v * size for v in blob)
        cx += rng.normal(0, size * 0.03)
        cy += rng.normal(0, size * 0.03)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(rng.integers(200, 250)))
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, 12, (size, size))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def make_folder(root: Path, per_class: int, seed: int, classes: tuple[str, ...] = CLASSES) -> Path:
    """Write ``root/<class>/NNN.png|jpg`` images; returns ``root``."""
    rng = np.random.default_rng(seed)
    for cls in classes:
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            ext = "png" if i % 2 else "jpg"
            draw_scan(cls, rng).save(root / cls / f"{cls}_{i:03d}.{ext}")
    return root


@pytest.fixture(scope="session")
def blob_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/ (16 per class), reference/ (8 per class) and feedback/ (3 per class)."""
    root = tmp_path_factory.mktemp("blobs")
    make_folder(root / "train", 16, seed=1)
    make_folder(root / "reference", 8, seed=2)
    make_folder(root / "feedback", 3, seed=3)
    return root


@pytest.fixture(scope="session")
def trained_model(blob_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small_cnn trained for a few seconds on the blob data (shared by the tests)."""
    from driftloop.model import train

    out = tmp_path_factory.mktemp("trained") / "model"
    train(blob_data / "train", str(out), epochs=4, batch_size=16, image_size=64, seed=3)
    return out
