"""Airflow for the DAG tests: its own AIRFLOW_HOME, SQLite, no example DAGs.

The environment is set when this file is imported, before anything imports
airflow (Airflow reads its configuration once, at import).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"

if "airflow" not in sys.modules:
    _home = Path(tempfile.mkdtemp(prefix="driftloop-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(_home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")


def airflow_env() -> dict[str, str]:
    """The environment a subprocess needs to see the same Airflow as this process."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLOOP_")}


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the session's Airflow metadata database once (about 3 s)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    marker = home / ".migrated"
    if not marker.exists():
        subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            env=airflow_env(),
            check=True,
            capture_output=True,
            timeout=300,
        )
        marker.touch()
    return home


@pytest.fixture
def runner_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Parse the DAGs in the runner mode given by the test's parameter."""
    mode = getattr(request, "param", "local")
    monkeypatch.setenv("DRIFTLOOP_RUNNER__MODE", mode)
    yield mode
