"""Helpers for the performance tests: synthetic windows, model folders, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftloop.constants import CLASSES
from driftloop.performance.calibration import TemperatureCalibrator, save_calibrator


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def calibrated_window(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are calibrated by construction: labels are drawn from them."""
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(0.0, 2.0, (n, len(CLASSES))))
    labels = np.array([rng.choice(len(CLASSES), p=p) for p in probs])
    return probs, labels


def identity_calibrator(**extra: Any) -> TemperatureCalibrator:
    return TemperatureCalibrator(
        temperature=1.0,
        classes=CLASSES,
        n_reference=1000,
        ece_before=0.01,
        ece_after=0.01,
        nll_before=0.5,
        nll_after=0.5,
        model_version="m-test",
        **extra,
    )


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A model folder with the files the performance step reads (no weights needed)."""
    folder = tmp_path / "models" / "m-test"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(
        json.dumps({"accuracy": 0.9, "macro_f1": 0.88, "macro_auc": 0.97, "n": 200}),
        encoding="utf-8",
    )
    (folder / "classes.json").write_text(json.dumps(list(CLASSES)), encoding="utf-8")
    save_calibrator(identity_calibrator(), str(folder))
    return folder


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 that records every JSON POST."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.bodies.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
