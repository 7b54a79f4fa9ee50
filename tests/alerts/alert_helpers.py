"""Helpers for the alert tests: real receivers on 127.0.0.1 and hand-made drift results."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftloop.config import Settings, load_settings
from driftloop.results import DriftResult, FeatureDrift

SLOW_SECONDS = 1.5


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    base: str
    requests: list[Received] = field(default_factory=list)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """POST /ok* -> 200, /fail* -> 500, /bad* -> 400, /slow* -> 200 after SLOW_SECONDS."""
    state = HttpReceiver(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = 200
            if self.path.startswith("/fail"):
                status = 500
            elif self.path.startswith("/bad"):
                status = 400
            elif self.path.startswith("/slow"):
                time.sleep(SLOW_SECONDS)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class SmtpReceiver:
    port: int
    messages: list[Any] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """A real aiosmtpd server that accepts login user/pass over plain SMTP."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    state = SmtpReceiver(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            state.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"pw")
        if ok:
            state.auth.append(data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=state.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield state
    controller.stop()


def alert_settings(tmp_path: Path, **alerts: Any) -> Settings:
    """Settings with fast retries so failure tests stay quick."""
    base: dict[str, Any] = {
        "retries": 1,
        "backoff_seconds": 0.01,
        "timeout_seconds": 0.5,
        "dedupe_hours": 24,
        "rate_limit_per_hour": 10,
    }
    return load_settings(environ={}, home=str(tmp_path / "var"), alerts={**base, **alerts})


def result_of(
    severity: str, drifted: tuple[str, ...] = ("sharpness", "mean", "noise")
) -> DriftResult:
    names = ("sharpness", "mean", "noise", "entropy", "std")
    effects = {"sharpness": 3.6, "mean": 2.9, "noise": 2.4, "entropy": 0.4, "std": 0.05}
    active = severity in ("low", "medium", "high")
    return DriftResult(
        drift_detected=active,
        severity=severity,  # type: ignore[arg-type]
        severity_rule="high: >= 3 image features drifted",
        n_reference=500,
        n_current=120 if severity != "insufficient_data" else 5,
        n_quarantined=1,
        features=tuple(
            FeatureDrift(n, "ks", 0.5, 1e-6, 0.01, active and n in drifted, effects[n])
            for n in names
        ),
        baseline_version="b1",
        model_version="m1",
        logical_date="2026-11-08",
    )
