"""The DAG files: they load, have the documented shape in both runner modes, parse fast."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from driftloop.constants import CHAMPION_ASSET_URI

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


def load_dagbag(folder: Path = DAGS) -> Any:
    """Parse the DAG folder as the DAG processor does (in this process's environment)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


MONITOR_EDGES = {
    "ingest": {"extract"},
    "extract": {"performance"},
    "performance": {"compare"},
    "compare": {"report", "decide"},
    "report": {"alert"},
    "alert": {"decide"},
    "decide": {"launch_retraining", "schedule_retraining", "skip_retraining"},
    "launch_retraining": {"join"},
    "schedule_retraining": {"join"},
    "skip_retraining": {"join"},
    "join": set(),
}
MODES = pytest.mark.parametrize("runner_mode", ["local", "kubernetes"], indirect=True)


def _monitor(bag: Any) -> Any:
    assert bag.import_errors == {}
    return bag.dags["image_drift_monitor"]


@MODES
def test_dagbag_loads_every_dag_without_import_errors(runner_mode: str) -> None:
    bag: Any = load_dagbag()
    assert bag.import_errors == {}
    assert set(bag.dags) == {"image_drift_monitor", "model_retrain", "baseline_refresh"}


@MODES
def test_monitor_dag_has_the_documented_tasks_and_edges(runner_mode: str) -> None:
    dag = _monitor(load_dagbag())
    edges = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert edges == MONITOR_EDGES


@MODES
def test_join_runs_after_whichever_branch_ran(runner_mode: str) -> None:
    dag = _monitor(load_dagbag())
    assert dag.get_task("join").trigger_rule == "none_failed_min_one_success"
    # performance and compare still run (insufficient data) when a day has no shard
    # to map over.
    assert dag.get_task("performance").trigger_rule == "none_failed"
    assert dag.get_task("compare").trigger_rule == "none_failed"
    assert type(dag.get_task("decide")).__name__ == "_BranchPythonDecoratedOperator"


@MODES
def test_extract_is_mapped_over_the_ingest_shards(runner_mode: str) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = _monitor(load_dagbag())
    extract = dag.get_task("extract")
    assert isinstance(extract, MappedOperator)
    assert extract.upstream_task_ids == {"ingest"}


@MODES
def test_transient_steps_retry_with_backoff_and_every_task_has_a_timeout(runner_mode: str) -> None:
    dag = _monitor(load_dagbag())
    for task_id in ("ingest", "extract", "performance", "report", "alert"):
        task = dag.get_task(task_id)
        assert task.retries >= 2 and task.retry_exponential_backoff, task_id
    for task in dag.tasks:
        assert task.execution_timeout is not None, task.task_id


def _kubernetes_monitor(monkeypatch: pytest.MonkeyPatch, **runner: str) -> Any:
    monkeypatch.setenv("DRIFTLOOP_RUNNER__MODE", "kubernetes")
    for name, value in runner.items():
        monkeypatch.setenv(f"DRIFTLOOP_RUNNER__{name.upper()}", value)
    return _monitor(load_dagbag())


def test_kubernetes_mode_runs_each_step_in_the_steps_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    from driftloop.constants import STEPS_IMAGE

    dag = _kubernetes_monitor(monkeypatch, namespace="ml-monitoring", memory_limit="3Gi")
    compare = dag.get_task("compare")
    assert isinstance(compare, KubernetesPodOperator)
    assert compare.image == STEPS_IMAGE
    assert compare.namespace == "ml-monitoring"
    assert compare.service_account_name == "driftloop-steps"
    assert compare.container_resources.limits["memory"] == "3Gi"
    assert "driftloop monitor step compare" in compare.cmds[2]
    ingest = dag.get_task("ingest")
    assert "--xcom-field shards" in ingest.cmds[2]
    assert dag.get_task("extract").partial_kwargs["image"] == STEPS_IMAGE


def _env(task: Any) -> dict[str, str]:
    return {e.name: e.value for e in task.env_vars}


def _assert_step_pod_settings(kw: dict[str, Any], pvc: str) -> None:
    assert kw["security_context"].fs_group == 10001
    assert kw["security_context"].run_as_user == 10001
    assert kw["security_context"].run_as_non_root is True
    assert [e.secret_ref.name for e in kw["env_from"]] == ["driftloop-secrets"]
    volumes = {v.name: v for v in kw["volumes"]}
    assert volumes["config"].config_map.name == "driftloop-config"
    assert volumes["data"].persistent_volume_claim.claim_name == pvc
    mounts = {m.mount_path: m.name for m in kw["volume_mounts"]}
    assert mounts == {"/etc/driftloop": "config", "/data": "data"}
    assert kw["labels"]["app.kubernetes.io/component"] == "step"
    assert kw["labels"]["app.kubernetes.io/part-of"] == "driftloop"


def test_step_pods_get_the_deployment_settings_volume_and_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dag = _kubernetes_monitor(monkeypatch, pvc_name="images-pvc")
    for task in dag.tasks:
        if task.task_id in ("decide", "skip_retraining"):
            continue  # they only branch: they stay in the worker
        if task.task_id == "extract":
            kw = task.partial_kwargs
            env = dict(kw["env_vars"])  # a mapped task keeps the dict it was given
        else:
            kw = {
                name: getattr(task, name)
                for name in ("security_context", "env_from", "volumes", "volume_mounts", "labels")
            }
            env = _env(task)
        _assert_step_pod_settings(kw, "images-pvc")
        assert env["DRIFTLOOP_CONFIG"] == "/etc/driftloop/driftloop.yaml", task.task_id
        assert env["DRIFTLOOP_HOME"] == "/data", task.task_id


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: "t"}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: driftloop}}]
current-context: x
"""


def test_every_container_of_a_step_pod_passes_pod_security_restricted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The namespace enforces "restricted": the XCom sidecar needs a security context too."""
    # Building the pod asks the client whether it runs in a cluster: give it a
    # config that points at nothing (no request is made).
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    monkeypatch.setenv(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}),
    )
    dag = _kubernetes_monitor(monkeypatch)
    pod = dag.get_task("compare").build_pod_request_obj(None)
    names = [c.name for c in pod.spec.containers]
    assert names == ["base", "airflow-xcom-sidecar"]
    assert pod.spec.security_context.run_as_non_root is True
    assert pod.spec.security_context.seccomp_profile.type == "RuntimeDefault"
    for container in pod.spec.containers:
        context = container.security_context
        assert context is not None, container.name
        assert context.allow_privilege_escalation is False, container.name
        assert context.capabilities.drop == ["ALL"], container.name
    assert pod.metadata.labels["app.kubernetes.io/component"] == "step"
    assert {"name": "DRIFTLOOP_HOME", "value": "/data"} in [
        {"name": e.name, "value": e.value} for e in pod.spec.containers[0].env
    ]


def test_local_mode_runs_steps_in_process() -> None:
    dag = _monitor(load_dagbag())
    assert {type(t).__name__ for t in dag.tasks} <= {
        "_PythonDecoratedOperator",
        "_BranchPythonDecoratedOperator",
        "DecoratedMappedOperator",
    }


def test_monitor_params_carry_types_and_descriptions_for_the_trigger_form() -> None:
    dag = _monitor(load_dagbag())
    params = {name: dag.params.get_param(name) for name in dag.params}
    schemas = {name: p.schema for name, p in params.items()}
    assert set(schemas) == {"source", "baseline", "retrain_severity", "force_retrain", "dry_run"}
    assert all(
        p.description and s.get("title")
        for p, s in zip(params.values(), schemas.values(), strict=True)
    )
    assert schemas["retrain_severity"]["enum"] == ["none", "low", "medium", "high"]
    assert schemas["force_retrain"]["type"] == schemas["dry_run"]["type"] == "boolean"
    assert dag.params["baseline"] == "current"
    # Optional in the form (empty = the monitor.source setting), not a required field.
    assert dag.params["source"] is None and "null" in schemas["source"]["type"]


def test_monitor_schedule_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLOOP_MONITOR__SCHEDULE", "0 6 * * *")
    dag = _monitor(load_dagbag())
    assert dag.timetable.expression == "0 6 * * *"
    assert dag.catchup is False and dag.max_active_runs == 1


def test_a_scheduled_run_checks_the_day_that_just_ended() -> None:
    """Data intervals: the run made at midnight has the finished day as its logical date."""
    from airflow.sdk import CronDataIntervalTimetable

    dag = _monitor(load_dagbag())
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 0 * * *"


def test_every_dag_is_documented_tagged_and_owned() -> None:
    bag: Any = load_dagbag()
    for dag_id, dag in bag.dags.items():
        assert Path(dag.fileloc).stem == dag_id
        assert dag.doc_md and dag_id in dag.doc_md
        assert "driftloop" in dag.tags
        assert {t.owner for t in dag.tasks} == {"driftloop"}


def test_model_retrain_is_manual_with_the_gate_params() -> None:
    dag = load_dagbag().dags["model_retrain"]  # type: ignore[attr-defined]
    assert dag.schedule is None
    assert set(dag.params) == {"epochs", "arch", "metric_min", "metric_drop_tol"}
    assert dag.params.get_param("arch").schema["enum"] == ["small_cnn", "efficientnet_b0"]


def test_baseline_refresh_is_scheduled_on_the_champion_asset() -> None:
    dag = load_dagbag().dags["baseline_refresh"]  # type: ignore[attr-defined]
    condition = dag.timetable.asset_condition
    assert [asset.uri for asset in condition.objects] == [CHAMPION_ASSET_URI]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_declare_the_constants_value_of_the_champion_asset(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if "driftloop://" in text:
        assert f'uri="{CHAMPION_ASSET_URI}"' in text


def _top_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in tree.body:  # module level only: imports inside functions are the point
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_import_only_airflow_sdk_and_the_standard_library(path: Path) -> None:
    bad = [
        name
        for name in _top_level_imports(path)
        if name != "airflow.sdk"
        and name != "__future__"
        and name.split(".")[0] not in sys.stdlib_module_names
    ]
    assert bad == []


def test_the_import_rule_catches_a_heavy_top_level_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad_dag.py"
    bad.write_text(
        "import os\nimport pandas\nfrom airflow.sdk import dag\ndef f():\n    import tensorflow\n"
    )
    assert _top_level_imports(bad) == ["os", "pandas", "airflow.sdk"]


def _parse_seconds(path: Path) -> float:
    best = float("inf")
    for attempt in range(3):
        spec = importlib.util.spec_from_file_location(f"_parse_{path.stem}_{attempt}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        start = time.perf_counter()
        spec.loader.exec_module(module)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_each_dag_file_parses_in_under_half_a_second(path: Path) -> None:
    import airflow.sdk  # noqa: F401  (the DAG processor has it imported already)

    load_dagbag(DAGS)  # warm: the first parse pays for lazy imports inside airflow.sdk
    assert _parse_seconds(path) < 0.5
