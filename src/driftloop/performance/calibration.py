"""Temperature scaling fitted on the reference set, and the calibration error (ECE).

Temperature scaling divides the logits by one number ``T`` fitted by
minimising the negative log-likelihood of the reference labels (Guo et al.
2017). It never changes which class wins, so the model's predictions and
accuracy stay as they are; only the confidences move. A model only has
probabilities here, but ``log p`` differs from the logits by a per-row
constant, which the softmax ignores, so scaling ``log p`` is the same thing.

The fitted calibrator is stored as ``calibration.json`` in the model folder
(``models/<version>/calibration.json``): it belongs to that model's weights
and travels with it through promotion and rollback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.errors import InputError, ModelError

__all__ = [
    "CALIBRATION_FILE",
    "TemperatureCalibrator",
    "calibrate_model",
    "expected_calibration_error",
    "fit_temperature",
    "load_calibrator",
    "negative_log_likelihood",
    "save_calibrator",
]

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.json"
_EPS = 1e-12


def _scaled(probabilities: NDArray[Any], temperature: float) -> NDArray[np.float64]:
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), _EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def negative_log_likelihood(probabilities: NDArray[Any], labels: NDArray[Any]) -> float:
    """Mean negative log-probability of the true class."""
    p = np.asarray(probabilities, np.float64)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.log(np.clip(p, _EPS, 1.0)).mean())


def expected_calibration_error(
    probabilities: NDArray[Any], labels: NDArray[Any], n_bins: int = 15
) -> float:
    """ECE: |accuracy - confidence| of the top class in equal-width bins, weighted by count."""
    probs = np.asarray(probabilities, np.float64)
    y = np.asarray(labels)
    if len(y) == 0:
        raise InputError("the calibration error needs at least one labelled image, got none")
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    # Bin i holds (i/n, (i+1)/n]; a confidence of exactly 0 joins the first bin.
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


@dataclasses.dataclass(frozen=True, slots=True)
class TemperatureCalibrator:
    """One temperature for a model's softmax, with how well it fitted the reference set."""

    temperature: float
    classes: tuple[str, ...]
    n_reference: int
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    model_version: str | None = None
    fitted_on: str | None = None
    fitted_at: str | None = None
    reference_metrics: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    method: str = "temperature"

    def transform(self, probabilities: NDArray[Any]) -> NDArray[np.float64]:
        """Calibrated probabilities for raw model probabilities (n, C)."""
        probs = np.asarray(probabilities, np.float64)
        if probs.ndim != 2 or probs.shape[1] != len(self.classes):
            raise InputError(
                f"probabilities of shape {probs.shape} do not match the calibrator's "
                f"{len(self.classes)} classes {list(self.classes)}"
            )
        return _scaled(probs, self.temperature)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["classes"] = list(self.classes)
        data["reference_metrics"] = dict(self.reference_metrics)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemperatureCalibrator:
        if data.get("method", "temperature") != "temperature":
            raise ModelError(
                f"calibration method '{data.get('method')}' is not supported; refit with "
                "'driftloop performance calibrate'"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["classes"] = tuple(data["classes"])
        temperature = float(kwargs["temperature"])
        if not math.isfinite(temperature) or temperature <= 0:
            raise ModelError(f"calibration temperature {temperature} must be a positive number")
        return cls(**kwargs)


def fit_temperature(
    probabilities: NDArray[Any],
    labels: Sequence[int] | NDArray[Any],
    classes: Sequence[str],
    *,
    model_version: str | None = None,
    fitted_on: str | None = None,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> TemperatureCalibrator:
    """Fit the temperature minimising the reference set's NLL (a bounded 1-D search on log T)."""
    from scipy.optimize import minimize_scalar

    probs = np.asarray(probabilities, np.float64)
    y = np.asarray(labels, np.int64)
    if probs.ndim != 2 or probs.shape != (len(y), len(classes)):
        raise InputError(
            f"probabilities of shape {probs.shape} do not match {len(y)} labels "
            f"and {len(classes)} classes"
        )
    if len(y) < 2 or len(set(y.tolist())) < 2:
        raise InputError(
            f"calibration needs labelled images of at least two classes, got {len(y)} image(s) "
            f"of {len(set(y.tolist()))} class(es); point --data at the reference set"
        )
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(_scaled(probs, math.exp(log_t)), y),
        bounds=(math.log(bounds[0]), math.log(bounds[1])),
        method="bounded",
        options={"xatol": 1e-5},
    )
    temperature = float(math.exp(result.x))
    after = _scaled(probs, temperature)
    calibrator = TemperatureCalibrator(
        temperature=temperature,
        classes=tuple(classes),
        n_reference=len(y),
        ece_before=expected_calibration_error(probs, y),
        ece_after=expected_calibration_error(after, y),
        nll_before=negative_log_likelihood(probs, y),
        nll_after=negative_log_likelihood(after, y),
        model_version=model_version,
        fitted_on=fitted_on,
        fitted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    log.info(
        "fitted temperature %.3f on %d reference images: ECE %.4f -> %.4f, NLL %.4f -> %.4f",
        temperature,
        len(y),
        calibrator.ece_before,
        calibrator.ece_after,
        calibrator.nll_before,
        calibrator.nll_after,
    )
    return calibrator


def save_calibrator(calibrator: TemperatureCalibrator, model_uri: str) -> str:
    """Write ``calibration.json`` into the model folder; returns its URI."""
    from driftloop.storage.artifacts import ArtifactStore

    store = ArtifactStore(model_uri)
    uri = model_uri.rstrip("/") + "/" + CALIBRATION_FILE
    return store.write_text(uri, json.dumps(calibrator.to_dict(), indent=2) + "\n")


def load_calibrator(model_uri: str) -> TemperatureCalibrator | None:
    """The model folder's calibrator, or None when it was never calibrated."""
    from driftloop.storage.artifacts import ArtifactStore

    store = ArtifactStore(model_uri)
    uri = model_uri.rstrip("/") + "/" + CALIBRATION_FILE
    if not store.exists(uri):
        return None
    try:
        return TemperatureCalibrator.from_dict(json.loads(store.read_text(uri)))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"calibrator '{uri}' is unreadable ({exc}); refit it with "
            f"'driftloop performance calibrate --model {model_uri} --data REFERENCE_DIR'"
        ) from None


def calibrate_model(model_uri: str, data_dir: str, *, save: bool = True) -> TemperatureCalibrator:
    """Predict the labelled reference set ``<data_dir>/<class>/*``, fit, and store the calibrator.

    The model's reference metrics on that set are kept in the calibrator too.
    """
    from driftloop.model.data import fingerprint, list_labelled, load_labelled
    from driftloop.model.predict import load_model
    from driftloop.performance.metrics import realised_performance

    model = load_model(model_uri)
    files = list_labelled(data_dir, classes=model.classes)
    x, y = load_labelled(files, model.image_size, model.classes)
    preds = model.predict_arrays(list(x[..., 0]))
    fitted = fit_temperature(
        preds.probabilities,
        y,
        model.classes,
        model_version=model.version,
        fitted_on=fingerprint(files),
    )
    ref = realised_performance(y, preds.probabilities, model.classes, min_labels=1, resamples=50)
    fitted = dataclasses.replace(fitted, reference_metrics=dict(ref.metrics))
    if save:
        uri = save_calibrator(fitted, model.uri)
        log.info("calibrator for %s written to %s", model.version, uri)
    return fitted
