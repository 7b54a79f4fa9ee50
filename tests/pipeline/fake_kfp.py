"""A small fake Kubeflow Pipelines API server (v2beta1) for the launcher tests.

No KFP server can run here, so the real ``kfp.Client`` talks HTTP to this one on
127.0.0.1. It implements only what the launcher uses: healthz, pipelines
(list with a display_name filter, multipart upload, upload_version, list
versions), experiments (list with filter, create) and runs (create, get). Each
created run walks through ``run_states`` on successive GETs, so a test can make a
run succeed, fail or stay running.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API = "/apis/v2beta1"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name_filter(query: dict[str, list[str]]) -> str | None:
    """The display_name an EQUALS filter asks for (None when unfiltered)."""
    raw = query.get("filter", [""])[0]
    if not raw:
        return None
    for predicate in json.loads(raw).get("predicates", []):
        if predicate.get("key") == "display_name":
            return str(predicate.get("stringValue") or predicate.get("string_value"))
    return None


@dataclass
class FakeKfp:
    """The server's state; tests read it to see what the client sent."""

    run_states: list[str] = field(default_factory=lambda: ["RUNNING", "SUCCEEDED"])
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    packages: dict[str, bytes] = field(default_factory=dict)  # version id -> uploaded file
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- handlers, each returning (status, body) --------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, ctype: str
    ) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(f"{method} {path}")
            route = path.removeprefix(API)
            if method == "GET" and route == "/healthz":
                return 200, {"multi_user": False, "pipeline_store": "database"}
            if method == "GET" and route == "/pipelines":
                name = _name_filter(query)
                found = [
                    p for p in self.pipelines.values() if name is None or p["display_name"] == name
                ]
                return 200, {"pipelines": found or None, "total_size": len(found)}
            if method == "POST" and route == "/pipelines/upload":
                return self._upload(query, body, ctype, pipeline_id=None)
            if method == "POST" and route == "/pipelines/upload_version":
                return self._upload(
                    query, body, ctype, pipeline_id=query.get("pipelineid", [""])[0]
                )
            if method == "GET" and route.startswith("/pipelines/") and route.endswith("/versions"):
                pipeline_id = route.split("/")[2]
                if pipeline_id not in self.pipelines:
                    return 404, {"error": f"pipeline {pipeline_id} not found", "code": 5}
                listed = self.versions.get(pipeline_id, [])
                return 200, {"pipeline_versions": listed or None, "total_size": len(listed)}
            if method == "GET" and route == "/experiments":
                name = _name_filter(query)
                found = [
                    e
                    for e in self.experiments.values()
                    if name is None or e["display_name"] == name
                ]
                return 200, {"experiments": found or None, "total_size": len(found)}
            if method == "POST" and route == "/experiments":
                data = json.loads(body)
                exp = {
                    "experiment_id": uuid.uuid4().hex,
                    "display_name": data["display_name"],
                    "created_at": _now(),
                }
                self.experiments[exp["experiment_id"]] = exp
                return 200, exp
            if method == "POST" and route == "/runs":
                return self._create_run(json.loads(body))
            if method == "GET" and route.startswith("/runs/"):
                return self._get_run(route.split("/")[2])
            return 404, {"error": f"fake KFP does not implement {method} {path}", "code": 12}

    def _upload(
        self, query: dict[str, list[str]], body: bytes, ctype: str, pipeline_id: str | None
    ) -> tuple[int, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + body
        )
        parts = message.iter_parts() if message.is_multipart() else []  # type: ignore[attr-defined]
        files = [
            part
            for part in parts
            if part.get_param("name", header="content-disposition") == "uploadfile"
        ]
        if not files:
            return 400, {"error": "multipart field 'uploadfile' missing", "code": 3}
        package = files[0].get_payload(decode=True)
        name = query.get("name", [""])[0]
        if pipeline_id is None:
            if any(p["display_name"] == name for p in self.pipelines.values()):
                return 409, {"error": f"pipeline {name} already exists", "code": 6}
            pipeline_id = uuid.uuid4().hex
            self.pipelines[pipeline_id] = {
                "pipeline_id": pipeline_id,
                "display_name": name,
                "created_at": _now(),
            }
            result: dict[str, Any] = self.pipelines[pipeline_id]
        elif pipeline_id not in self.pipelines:
            return 404, {"error": f"pipeline {pipeline_id} not found", "code": 5}
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": uuid.uuid4().hex,
            "display_name": name,
            "created_at": _now(),
        }
        self.versions.setdefault(pipeline_id, []).append(version)
        self.packages[version["pipeline_version_id"]] = package
        if query.get("pipelineid"):
            result = version
        return 200, result

    def _create_run(self, data: dict[str, Any]) -> tuple[int, Any]:
        ref = data.get("pipeline_version_reference") or {}
        if not data.get("pipeline_spec") and ref.get("pipeline_version_id") not in self.packages:
            return 400, {"error": "unknown pipeline version", "code": 3}
        run_id = uuid.uuid4().hex
        self.run_bodies[run_id] = data
        self.runs[run_id] = {
            "run_id": run_id,
            "display_name": data.get("display_name"),
            "experiment_id": data.get("experiment_id"),
            "state": "PENDING",
            "created_at": _now(),
        }
        self._polls[run_id] = 0
        return 200, self.runs[run_id]

    def _get_run(self, run_id: str) -> tuple[int, Any]:
        if run_id not in self.runs:
            return 404, {"error": f"run {run_id} not found", "code": 5}
        step = min(self._polls[run_id], len(self.run_states) - 1)
        self._polls[run_id] += 1
        self.runs[run_id]["state"] = self.run_states[step]
        return 200, self.runs[run_id]


def _handler_for(fake: FakeKfp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake.handle(
                method, url.path, parse_qs(url.query), body, self.headers.get("Content-Type", "")
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output to what the test prints

    return Handler


@contextmanager
def serve(fake: FakeKfp | None = None) -> Iterator[tuple[str, FakeKfp]]:
    """Run a fake KFP API on 127.0.0.1 (a free port) in a thread; yields (url, state)."""
    state = fake or FakeKfp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
