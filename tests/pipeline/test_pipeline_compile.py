"""The compiled pipeline: golden file, graph shape, and container/local component parity."""

from __future__ import annotations

from pathlib import Path

import components.container as container
import components.local as local
import pytest
import yaml
from pipelines.retrain import COMPILED_PATH, PIPELINE_NAME, compile_pipeline

from driftloop.cli import main
from driftloop.constants import STEPS_IMAGE

STEP_NAMES = ["evaluate", "gate", "prepare_data", "promote", "record_rejection", "train"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = compile_pipeline(tmp_path_factory.mktemp("compiled") / "retrain.yaml")
    return yaml.safe_load(out.read_text())


def test_compiled_yaml_matches_the_committed_golden_file(tmp_path: Path) -> None:
    fresh = compile_pipeline(tmp_path / "retrain.yaml").read_text()
    assert COMPILED_PATH.is_file(), (
        "pipelines/retrain.yaml is missing: run 'driftloop pipeline compile'"
    )
    assert fresh == COMPILED_PATH.read_text(), (
        "pipelines/retrain.yaml is out of date with pipelines/retrain.py or components/: "
        "run 'driftloop pipeline compile' and commit the result"
    )


def test_every_step_runs_the_one_steps_image_through_the_driftloop_cli(compiled: dict) -> None:
    executors = compiled["deploymentSpec"]["executors"]
    assert len(executors) == 6
    for spec in executors.values():
        container_spec = spec["container"]
        assert container_spec["image"] == STEPS_IMAGE
        assert container_spec["command"][:3] == ["driftloop", "pipeline", "step"]
        assert "pip install" not in " ".join(container_spec["command"] + container_spec["args"])
        assert container_spec["resources"]["cpuLimit"] > 0
        assert container_spec["resources"]["memoryLimit"] > 0


def test_caching_is_off_for_every_task(compiled: dict) -> None:
    def tasks(dag: dict) -> list[dict]:
        return list(dag.get("tasks", {}).values())

    found = tasks(compiled["root"]["dag"])
    for comp in compiled["components"].values():
        found += tasks(comp.get("dag", {}))
    step_tasks = [t for t in found if not t["componentRef"]["name"].startswith("comp-condition")]
    assert len(step_tasks) == 6
    assert all(t["cachingOptions"] == {} for t in step_tasks)  # {} is "enableCache: false"


def test_promote_and_rejection_hang_off_the_gate_status(compiled: dict) -> None:
    branches = compiled["components"]["comp-condition-branches-1"]["dag"]["tasks"]
    conditions = {name: t["triggerPolicy"]["condition"] for name, t in branches.items()}
    assert (
        conditions["condition-2"]
        == "inputs.parameter_values['pipelinechannel--gate-status'] == 'BLESSED'"
    )
    assert conditions["condition-3"].startswith("!(")
    assert "promote" in compiled["components"]["comp-condition-2"]["dag"]["tasks"]
    assert "record-rejection" in compiled["components"]["comp-condition-3"]["dag"]["tasks"]


def test_pipeline_parameters_and_defaults(compiled: dict) -> None:
    assert compiled["pipelineInfo"]["name"] == PIPELINE_NAME
    params = compiled["root"]["inputDefinitions"]["parameters"]
    assert params["metric_min"]["defaultValue"] == 0.72
    assert params["metric_drop_tol"]["defaultValue"] == 0.03
    assert "defaultValue" not in params["data_uri"]
    assert {"epochs", "batch_size", "arch", "feedback_uri", "artifact_root", "database_url"} <= set(
        params
    )


@pytest.mark.parametrize("name", STEP_NAMES)
def test_container_and_local_components_declare_the_same_interface(name: str) -> None:
    cluster = getattr(container, name).component_spec
    here = getattr(local, name).component_spec
    assert {k: v.type for k, v in cluster.inputs.items()} == {
        k: v.type for k, v in here.inputs.items()
    }
    assert {k: v.type for k, v in (cluster.outputs or {}).items()} == {
        k: v.type for k, v in (here.outputs or {}).items()
    }
    assert here.implementation.container.image == STEPS_IMAGE


def test_cli_compile_writes_the_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "p.yaml"
    assert main(["pipeline", "compile", "--out", str(out)]) == 0
    assert out.read_text() == COMPILED_PATH.read_text()
    assert str(out) in capsys.readouterr().out
