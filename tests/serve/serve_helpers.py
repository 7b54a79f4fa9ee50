"""A real uvicorn server in a thread, and helpers to inspect what it wrote."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select

from driftloop.client import DriftloopClient
from driftloop.config import Settings, load_settings
from driftloop.model import Registry, decide_gate
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database, upgrade
from driftloop.storage.models import PredictionLog


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def promote_model(db: Database, store: ArtifactStore, model: Path) -> str:
    """Register ``model`` and promote it through the gate; returns its version."""
    reg = Registry(db, store)
    version = reg.register(
        str(model), metrics={"macro_auc": 0.9}, fingerprint="a" * 64, arch="small_cnn"
    )
    decision = decide_gate({"macro_auc": 0.95}, None, candidate_version=version)
    assert reg.promote(version, decision, "test")
    return version


def make_env(tmp_path: Path, db_url: str, model: Path, **serving: Any) -> tuple[Settings, Database]:
    """Settings, a migrated database and a promoted champion for one test."""
    settings = load_settings(
        environ={}, home=str(tmp_path / "var"), database_url=db_url, serving=serving
    )
    db = Database(settings.db_url)
    upgrade(db)
    promote_model(db, ArtifactStore(settings.artifacts_uri), model)
    return settings, db


class LiveServer:
    """``create_app(settings)`` served by uvicorn on 127.0.0.1:<free port> in a thread."""

    def __init__(self, settings: Settings, **app_kwargs: Any) -> None:
        from driftloop.serve import create_app

        self.settings = settings
        self.app = create_app(settings, **app_kwargs)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """A clean shutdown: finish requests, run the lifespan exit (drains the log)."""
        self.server.should_exit = True
        self.thread.join(60)
        assert not self.thread.is_alive(), "server did not stop"

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.stop()

    def client(self, token: str | None = None) -> DriftloopClient:
        return DriftloopClient(self.url, token=token)

    @property
    def state(self) -> Any:
        return self.app.state.serve


def log_rows(db: Database) -> list[PredictionLog]:
    with db.session() as s:
        return list(s.scalars(select(PredictionLog).order_by(PredictionLog.id)).all())


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
