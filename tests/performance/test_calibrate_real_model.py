"""``driftloop performance calibrate`` on a real (tiny) Keras model and the demo reference set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from driftloop.cli import main
from driftloop.performance.calibration import load_calibrator


@pytest.fixture(scope="module")
def tiny_model(demo_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from driftloop.model import train

    out = tmp_path_factory.mktemp("perf_model") / "m-tiny"
    train(demo_tiny / "train", str(out), epochs=2, image_size=48, batch_size=32, seed=3)
    return out


def test_calibrate_writes_calibration_json_into_the_model_folder(
    tiny_model: Path,
    demo_tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DRIFTLOOP_HOME", str(tmp_path / "var"))
    code = main(
        [
            "performance",
            "calibrate",
            "--model",
            str(tiny_model),
            "--data",
            str(demo_tiny / "reference"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "temperature" in capsys.readouterr().out
    cal = load_calibrator(str(tiny_model))
    assert cal is not None
    assert np.isfinite(cal.temperature) and cal.temperature > 0
    assert cal.n_reference == 60  # tiny: 15 reference images per class
    assert cal.nll_after <= cal.nll_before + 1e-9
    assert set(cal.reference_metrics) >= {"accuracy", "macro_f1", "macro_auc"}
    stored = json.loads((tiny_model / "calibration.json").read_text(encoding="utf-8"))
    assert stored["method"] == "temperature"


def test_calibrate_on_a_folder_without_classes_names_it(
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DRIFTLOOP_HOME", str(tmp_path / "var"))
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["performance", "calibrate", "--model", str(tiny_model), "--data", str(empty)])
    assert code == 1
    assert str(empty) in capsys.readouterr().err
