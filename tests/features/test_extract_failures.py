"""Files that ingest accepted but extraction cannot read: counted, and never silent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from driftloop.config import Settings
from driftloop.errors import FeatureError
from driftloop.features import extract, read_features
from driftloop.ingest import ingest
from driftloop.storage.db import Database


def _folder(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir()
    for i in range(n):
        pixels = rng.integers(0, 255, (64, 64), dtype=np.uint8)
        Image.fromarray(pixels, "L").save(root / f"img_{i}.jpg", quality=90)
    return root


def test_a_file_broken_after_ingest_is_counted_as_failed(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src = _folder(tmp_path / "day", 4)
    summary = ingest(str(src), dt.date(2026, 11, 5), settings, out=str(tmp_path / "m.parquet"))
    (src / "img_0.jpg").write_bytes(b"gone bad since ingest")
    result = extract(summary.manifest_uri, str(tmp_path / "features"), settings, workers=1)
    assert (result.n_rows, result.n_failed) == (3, 1)
    assert len(read_features(str(tmp_path / "features"))) == 3


def test_every_file_failing_is_an_error_not_an_empty_table(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src = _folder(tmp_path / "day", 3)
    summary = ingest(str(src), dt.date(2026, 11, 5), settings, out=str(tmp_path / "m.parquet"))
    for path in src.iterdir():
        path.write_bytes(b"")
    with pytest.raises(FeatureError, match="failed for all 3 accepted images"):
        extract(summary.manifest_uri, str(tmp_path / "features"), settings, workers=1)
