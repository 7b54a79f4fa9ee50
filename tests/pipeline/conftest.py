"""Fixtures for the pipeline tests: a fake KFP API server and tiny labelled image folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fake_kfp import FakeKfp, serve
from PIL import Image

from driftloop.config import Settings
from driftloop.constants import CLASSES
from driftloop.storage.db import Database


@pytest.fixture
def fake_kfp() -> Iterator[tuple[str, FakeKfp]]:
    """A fake KFP v2beta1 API on 127.0.0.1; yields (url, state)."""
    with serve() as running:
        yield running


@pytest.fixture
def kfp_settings(settings: Settings, db: Database, fake_kfp: tuple[str, FakeKfp]) -> Settings:
    """Settings pointing at the fake server, polling fast, with training data configured."""
    url, _ = fake_kfp
    return settings.model_copy(
        update={
            "kfp": settings.kfp.model_copy(
                update={
                    "host": url,
                    "poll_seconds": 0.05,
                    "timeout_seconds": 5.0,
                    "data_uri": "/data/train",
                }
            )
        }
    )


def write_labelled_images(root: Path, per_class: int, *, seed: int = 0, size: int = 48) -> Path:
    """``root/<class>/*.png``: each class a distinct, learnable brightness pattern."""
    rng = np.random.default_rng(seed)
    for index, label in enumerate(CLASSES):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            base = np.zeros((size, size), dtype=np.float32)
            quarter = size // 2
            row, col = divmod(index, 2)
            base[row * quarter : (row + 1) * quarter, col * quarter : (col + 1) * quarter] = 200
            noisy = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(folder / f"{label}_{n:03d}.png")
    return root


@pytest.fixture
def labelled_images(tmp_path: Path) -> Path:
    """A tiny labelled image folder (4 classes x 10 images) for prepare_data."""
    return write_labelled_images(tmp_path / "labelled", 10)
