"""Airflow for the DAG tests: its own AIRFLOW_HOME, SQLite, no example DAGs.

The environment is set when this file is imported, before anything imports
airflow (Airflow reads its configuration once, at import).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A real HTTP receiver on 127.0.0.1 that records the JSON bodies posted to it."""
    received: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    server.shutdown()
    server.server_close()


@pytest.fixture
def driftloop_env(tmp_path: Path, demo_tiny: Path, webhook: Webhook) -> dict[str, str]:
    """DRIFTLOOP_* settings on the tiny demo set: a migrated database and a current baseline.

    Returned, not exported: in-process tests set them with monkeypatch, the
    web UI test hands them to `airflow standalone`.
    """
    from driftloop.config import load_settings
    from driftloop.monitor import refresh_baseline
    from driftloop.storage.db import Database, upgrade

    env = {
        "DRIFTLOOP_HOME": str(tmp_path / "var"),
        "DRIFTLOOP_MONITOR__SOURCE": str(demo_tiny / "production" / "{date}"),
        "DRIFTLOOP_MONITOR__REFERENCE_IMAGES": str(demo_tiny / "reference"),
        "DRIFTLOOP_ALERTS__WEBHOOK__URL": webhook.url,
        "DRIFTLOOP_ALERTS__WEBHOOK__MIN_SEVERITY": "medium",
        "DRIFTLOOP_KFP__DATA_URI": str(demo_tiny / "train"),
        "DRIFTLOOP_MODEL__EPOCHS": "1",
        "DRIFTLOOP_MODEL__IMAGE_SIZE": "64",
    }
    settings = load_settings(environ=env)
    db = Database(settings.db_url)
    upgrade(db)
    db.dispose()
    refresh_baseline(settings, str(demo_tiny / "reference"))
    return env


@pytest.fixture
def monitor_env(
    driftloop_env: dict[str, str], airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The driftloop settings exported for in-process dag.test() runs; yields the database."""
    from driftloop.config import load_settings
    from driftloop.storage.db import Database

    for name, value in driftloop_env.items():
        monkeypatch.setenv(name, value)
    db = Database(load_settings().db_url)
    yield db
    db.dispose()
