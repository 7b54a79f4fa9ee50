"""schemathesis against the app's own OpenAPI schema, over the live loopback URL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from serve_helpers import LiveServer, make_env

from driftloop.storage.models import DriftFeatureResult, MonitoringRun

TOKEN = "fuzz-token"


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, served_model: Path
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("fuzz")
    settings, db = make_env(tmp, f"sqlite:///{tmp / 'fuzz.db'}", served_model, api_token=TOKEN)
    with db.session() as s:
        run = MonitoringRun(
            run_key="2026-11-03", logical_date=dt.date(2026, 11, 3), status="success",
            severity="medium", drift_detected=True, n_listed=40, n_accepted=38,
            n_quarantined=2, report_uri="/var/reports/2026-11-03/index.html",
        )  # fmt: skip
        run.features.append(
            DriftFeatureResult(feature="mean", test="ks", statistic=0.4, p_value=0.001,
                               threshold=0.05, drifted=True)
        )  # fmt: skip
        s.add(run)
    with LiveServer(settings) as live:
        yield live
    db.dispose()


def _operations(live: LiveServer) -> list[object]:
    schema = schemathesis.openapi.from_dict(live.app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


def test_fuzzed_requests_never_get_a_server_error(fuzz_server: LiveServer) -> None:
    operations = _operations(fuzz_server)
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {  # type: ignore[attr-defined]
        "GET /health", "POST /predict", "POST /feedback", "POST /reload",
        "GET /monitoring/runs", "GET /monitoring/runs/{run_id}", "GET /monitoring/drift/latest",
    }  # fmt: skip
    checked = 0
    for op in operations:
        # /reload loads a model (a second or so each): a few examples are enough.
        examples = 3 if op.path == "/reload" else 25  # type: ignore[attr-defined]

        @hsettings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())  # type: ignore[attr-defined]
        def run(case: schemathesis.Case) -> None:
            nonlocal checked
            for headers in ({"Authorization": f"Bearer {TOKEN}"}, {}):
                case.call_and_validate(
                    base_url=fuzz_server.url,
                    headers=headers,
                    checks=[not_a_server_error, response_schema_conformance],
                )
                checked += 1

        run()
    assert checked > 100
