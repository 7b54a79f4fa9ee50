"""Kustomize overlays build, validate strictly against Kubernetes 1.32, and are hardened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.helpers import K8S_VERSION, OVERLAYS, ROOT, load_docs, require_tool, run
from driftloop.config import load_settings
from driftloop.constants import AIRFLOW_IMAGE_REPO, STEPS_IMAGE, VERSION

POD_KINDS = {"Deployment": ("spec", "template", "spec"), "Job": ("spec", "template", "spec")}


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for doc in docs:
        if doc["kind"] in POD_KINDS:
            spec = doc
            for key in POD_KINDS[doc["kind"]]:
                spec = spec[key]
            out.append((f"{doc['kind']}/{doc['metadata']['name']}", spec))
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_resource_in_the_driftloop_namespace(
    rendered: dict[str, str], overlay: str
) -> None:
    docs = load_docs(rendered[overlay])
    kinds = {d["kind"] for d in docs}
    assert {
        "Namespace", "ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim",
        "ConfigMap", "Secret", "Deployment", "Service", "Job", "NetworkPolicy",
    } <= kinds  # fmt: skip
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "driftloop", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["driftloop.io/environment"] == overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_resources_validate_strictly(rendered_dir: Path, overlay: str) -> None:
    validator = require_tool("kubernetes-validate")
    result = run([validator, "--strict", "-k", K8S_VERSION, str(rendered_dir / f"{overlay}.yaml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout + result.stderr


def test_strict_validation_rejects_an_unknown_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {}\nreplicas: 2\n",
        encoding="utf-8",
    )
    result = run([require_tool("kubernetes-validate"), "--strict", "-k", K8S_VERSION, str(bad)])
    assert result.returncode != 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_run_unprivileged_with_resource_limits(
    rendered: dict[str, str], overlay: str
) -> None:
    for name, spec in _pod_specs(load_docs(rendered[overlay])):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] >= 10000, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][part]), name


def test_settings_in_the_configmap_load_and_match_the_manifests(
    rendered: dict[str, str], tmp_path: Path
) -> None:
    docs = load_docs(rendered["prod"])
    config = tmp_path / "driftloop.yaml"
    config.write_text(_by_kind(docs, "ConfigMap")["driftloop-config"]["data"]["driftloop.yaml"])
    settings = load_settings(config, environ={})
    assert settings.runner.mode == "kubernetes"
    assert settings.runner.image == STEPS_IMAGE
    assert settings.runner.namespace in _by_kind(docs, "Namespace")
    assert settings.runner.service_account in _by_kind(docs, "ServiceAccount")
    assert settings.runner.pvc_name in _by_kind(docs, "PersistentVolumeClaim")


def test_secret_template_holds_only_placeholders(rendered: dict[str, str]) -> None:
    secret = _by_kind(load_docs(rendered["prod"]), "Secret")["driftloop-secrets"]
    assert "data" not in secret, "use stringData placeholders, never encoded values"
    for key, value in secret["stringData"].items():
        assert key.startswith("DRIFTLOOP_"), key
        assert "CHANGE_ME" in value, f"{key} looks like a real value"


def test_airflow_may_launch_and_follow_step_pods_and_nothing_more(
    rendered: dict[str, str],
) -> None:
    docs = load_docs(rendered["prod"])
    role = _by_kind(docs, "Role")["driftloop-pod-launcher"]
    granted = {
        (res, verb) for rule in role["rules"] for res in rule["resources"] for verb in rule["verbs"]
    }
    for verb in ("create", "get", "list", "watch", "delete"):
        assert ("pods", verb) in granted
    assert ("pods/log", "get") in granted
    assert not any(res == "secrets" or verb == "*" for res, verb in granted)
    binding = _by_kind(docs, "RoleBinding")["driftloop-pod-launcher"]
    assert {s["name"] for s in binding["subjects"]} == {
        "airflow-worker", "airflow-scheduler", "airflow-triggerer",
    }  # fmt: skip


def test_upload_job_runs_the_pipeline_upload_command_from_the_steps_image(
    rendered: dict[str, str],
) -> None:
    job = _by_kind(load_docs(rendered["prod"]), "Job")
    (spec,) = [j["spec"]["template"]["spec"] for j in job.values()]
    container = spec["containers"][0]
    assert container["image"] == STEPS_IMAGE
    assert container["args"][:3] == ["pipeline", "upload", "--host"]
    # The package path is where the steps image copies the repository's pipelines/ folder.
    package = container["args"][container["args"].index("--package") + 1]
    assert package == "/opt/driftloop/pipelines/retrain.yaml"
    assert (ROOT / "pipelines/retrain.yaml").is_file(), "compile it: driftloop pipeline compile"
    steps = (ROOT / "images/steps/Dockerfile").read_text(encoding="utf-8")
    assert "COPY pipelines /opt/driftloop/pipelines" in steps
    assert spec["restartPolicy"] == "Never"


def test_dev_uses_a_single_node_volume_and_prod_a_shared_one(rendered: dict[str, str]) -> None:
    modes = {
        o: _by_kind(load_docs(rendered[o]), "PersistentVolumeClaim")["driftloop-data"]["spec"][
            "accessModes"
        ]
        for o in OVERLAYS
    }
    assert modes == {"dev": ["ReadWriteOnce"], "prod": ["ReadWriteMany"]}


def test_airflow_helm_values_use_the_driftloop_image_and_settings() -> None:
    values = yaml.safe_load((ROOT / "k8s/airflow-values.yaml").read_text(encoding="utf-8"))
    image = values["images"]["airflow"]
    assert (image["repository"], image["tag"]) == (AIRFLOW_IMAGE_REPO, VERSION)
    assert values["executor"] in {"KubernetesExecutor", "LocalExecutor"}
    assert values["airflowVersion"].startswith("3.")
    assert values["dags"]["gitSync"]["enabled"] is False  # DAGs are baked into the image
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["DRIFTLOOP_RUNNER__MODE"] == "kubernetes"
    assert env["DRIFTLOOP_RUNNER__SERVICE_ACCOUNT"] == "driftloop-steps"
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in values["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {env["DRIFTLOOP_RUNNER__PVC_NAME"]}
