"""docker-compose.yml: valid for Compose v2 and the compose spec, and shaped as documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.helpers import ROOT, compose_command, require_tool, run
from driftloop.constants import AIRFLOW_IMAGE

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as Compose itself resolves it (anchors merged, defaults filled)."""
    result = run([*compose_command(), "-f", "docker-compose.yml", "config", "--format", "json"])
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def test_compose_config_is_valid() -> None:
    result = run([*compose_command(), "-f", "docker-compose.yml", "config", "-q"])
    assert result.returncode == 0, result.stderr


def test_compose_rejects_an_unknown_service_key(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  web:\n    imagee: nginx\n", encoding="utf-8")
    result = run([*compose_command(), "-f", str(bad), "config", "-q"])
    assert result.returncode != 0
    assert "imagee" in result.stderr


def test_compose_matches_the_compose_spec_schema() -> None:
    checker = require_tool("check-jsonschema")
    result = run([checker, "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_airflow_runs_local_executor_on_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert services[name]["image"] == AIRFLOW_IMAGE, name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env["DRIFTLOOP_DATABASE_URL"].startswith("postgresql"), name
        # One JWT secret for every component, or task tokens fail to verify.
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"], name
    commands = {services[n]["command"][0] for n in AIRFLOW_SERVICES[1:]}
    assert commands == {"api-server", "scheduler", "dag-processor", "triggerer"}


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in {"airflow-init", "driftloop-cli"}:
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_airflow_waits_for_postgres_and_the_init_job(compose: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES[1:]:
        deps = compose["services"][name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in init and "driftloop db upgrade" in init


def test_data_reports_and_models_live_on_a_named_volume(compose: dict[str, Any]) -> None:
    assert {"postgres-data", "driftloop-data"} <= set(compose["volumes"])
    for name in AIRFLOW_SERVICES:
        mounts = {v["source"]: v["target"] for v in compose["services"][name]["volumes"]}
        assert (
            mounts["driftloop-data"] == compose["services"][name]["environment"]["DRIFTLOOP_HOME"]
        )
    reports = compose["services"]["reports"]["volumes"]
    assert any(v["source"] == "driftloop-data" and v["read_only"] for v in reports)


def test_documented_ports_are_the_published_ones(compose: dict[str, Any]) -> None:
    header = (ROOT / "docker-compose.yml").read_text(encoding="utf-8").split("name:")[0]
    published = {
        str(port["published"])
        for service in compose["services"].values()
        for port in service.get("ports", [])
    }
    assert published == {"8080", "8081"}
    for port in published:
        assert re.search(rf"#\s+{port}\s", header), f"port {port} not documented in the header"


def test_env_example_names_every_variable_the_compose_file_reads() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    # `$${X}` is escaped: the container's shell expands it, not Compose.
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*(\w+)=", example, flags=re.M))
    assert used <= named, f"missing from .env.example: {sorted(used - named)}"


def test_reports_nginx_config_is_the_same_for_compose_and_kubernetes() -> None:
    compose_conf = (ROOT / "images/reports/nginx.conf").read_text(encoding="utf-8")
    k8s_conf = (ROOT / "k8s/base/reports-nginx.conf").read_text(encoding="utf-8")
    assert compose_conf == k8s_conf, "copy images/reports/nginx.conf to k8s/base/reports-nginx.conf"
