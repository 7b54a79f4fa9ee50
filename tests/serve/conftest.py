"""Serving fixtures: one tiny trained model per session, a promoted champion per test,
and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import os

# Two cores are shared: keep TensorFlow to a couple of threads.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import LiveServer, make_env

from driftloop.config import Settings
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database


@pytest.fixture(scope="session")
def served_model(demo_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small_cnn trained for one epoch on the tiny demo's train/ folder."""
    from driftloop.model import train

    out = tmp_path_factory.mktemp("serve-model") / "model"
    train(demo_tiny / "train", str(out), epochs=1, batch_size=16, image_size=64, seed=5)
    return out


@pytest.fixture(scope="session")
def sample_images(demo_tiny: Path) -> list[Path]:
    """Production images of the tiny demo (JPEG), sorted."""
    return sorted(p for p in (demo_tiny / "production").rglob("*.jpg"))


@pytest.fixture
def sqlite_env(tmp_path: Path, served_model: Path) -> Iterator[tuple[Settings, Database]]:
    settings, db = make_env(tmp_path, f"sqlite:///{tmp_path / 'serve.db'}", served_model)
    yield settings, db
    db.dispose()


@pytest.fixture
def server(sqlite_env: tuple[Settings, Database]) -> Iterator[LiveServer]:
    """A running server on SQLite with no token."""
    settings, _ = sqlite_env
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def layout(sqlite_env: tuple[Settings, Database]) -> Layout:
    return Layout(ArtifactStore(sqlite_env[0].artifacts_uri))
