"""Temperature scaling recovers a known temperature; ECE; the stored calibrator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from perf_helpers import identity_calibrator, softmax

from driftloop.constants import CLASSES
from driftloop.errors import InputError, ModelError
from driftloop.performance.calibration import (
    TemperatureCalibrator,
    expected_calibration_error,
    fit_temperature,
    load_calibrator,
    save_calibrator,
)


def overconfident(
    temperature: float, n: int = 4000, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z); the 'model' reports softmax(z * temperature)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, (n, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(z)])
    return softmax(z * temperature), labels


@pytest.mark.parametrize("true_t", [2.5, 0.6])
def test_temperature_scaling_recovers_a_known_temperature(true_t: float) -> None:
    probs, labels = overconfident(true_t)
    cal = fit_temperature(probs, labels, CLASSES)
    assert cal.temperature == pytest.approx(true_t, rel=0.08)
    assert cal.ece_after < cal.ece_before
    assert cal.nll_after < cal.nll_before
    # Scaling never changes the winning class.
    assert (cal.transform(probs).argmax(1) == probs.argmax(1)).all()


def test_ece_of_a_hand_made_example() -> None:
    # Both predictions at confidence 0.9, one right: |0.5 - 0.9| = 0.4.
    probs = np.array([[0.9, 0.1], [0.9, 0.1]])
    assert expected_calibration_error(probs, np.array([0, 1])) == pytest.approx(0.4)
    # Two bins: {0.6 right} and {0.95 right}: (0.4 + 0.05) / 2.
    probs = np.array([[0.6, 0.4], [0.95, 0.05]])
    assert expected_calibration_error(probs, np.array([0, 0])) == pytest.approx(0.225)


def test_ece_of_calibrated_probabilities_is_small() -> None:
    probs, labels = overconfident(1.0, n=6000)
    assert expected_calibration_error(probs, labels) < 0.03


def test_calibration_with_one_class_is_refused() -> None:
    with pytest.raises(InputError, match="at least two classes"):
        fit_temperature(np.full((5, 4), 0.25), np.zeros(5, int), CLASSES)


def test_calibration_with_mismatched_shapes_is_refused() -> None:
    with pytest.raises(InputError, match=r"\(5, 3\)"):
        fit_temperature(np.full((5, 3), 0.3), np.array([0, 1, 0, 1, 0]), CLASSES)


def test_calibrator_round_trips_through_the_model_folder(tmp_path: Path) -> None:
    cal = identity_calibrator(reference_metrics={"accuracy": 0.9})
    uri = save_calibrator(cal, str(tmp_path))
    assert uri.endswith("calibration.json")
    assert load_calibrator(str(tmp_path)) == cal


def test_missing_calibrator_is_none(tmp_path: Path) -> None:
    assert load_calibrator(str(tmp_path)) is None


def test_corrupt_calibrator_says_how_to_refit(tmp_path: Path) -> None:
    (tmp_path / "calibration.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="driftloop performance calibrate"):
        load_calibrator(str(tmp_path))


def test_non_positive_temperature_is_rejected(tmp_path: Path) -> None:
    data = identity_calibrator().to_dict() | {"temperature": -1.0}
    (tmp_path / "calibration.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="-1.0"):
        load_calibrator(str(tmp_path))


def test_transform_rejects_other_class_counts() -> None:
    with pytest.raises(InputError, match="4 classes"):
        identity_calibrator().transform(np.full((2, 3), 1 / 3))


def test_calibrator_fields_survive_json() -> None:
    cal = TemperatureCalibrator.from_dict(json.loads(json.dumps(identity_calibrator().to_dict())))
    assert cal.classes == CLASSES and cal.temperature == 1.0
