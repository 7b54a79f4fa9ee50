"""Train a classifier on labelled image folders (plus labelled feedback) and save it.

The output folder gets ``model.keras``, ``metrics.json`` (on a stratified
held-out split of the training data), ``classes.json``, ``fingerprint.txt``
(of all training + feedback images) and ``train.json`` (the parameters and
per-epoch history). It appears in one step: everything is written to a local
temporary folder first and then moved into place by the artifact store.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.constants import CLASSES
from driftloop.errors import InputError, ModelError
from driftloop.model.arch import ARCHITECTURES, build_model
from driftloop.model.data import LabelledFile, fingerprint, list_labelled, load_labelled

__all__ = ["TrainResult", "split_stratified", "train"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Where the trained model went, its held-out metrics and its training-data fingerprint."""

    model_uri: str
    metrics: dict[str, Any]
    fingerprint: str


def split_stratified(
    labels: NDArray[np.int64], val_fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices of a per-class shuffled train/validation split (each class keeps >= 1 for training)."""
    rng = np.random.default_rng(seed)
    train_idx: list[int] = []
    val_idx: list[int] = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_val = min(len(idx) - 1, max(1, round(val_fraction * len(idx)))) if len(idx) > 1 else 0
        val_idx.extend(idx[:n_val].tolist())
        train_idx.extend(idx[n_val:].tolist())
    return np.array(sorted(train_idx), np.int64), np.array(sorted(val_idx), np.int64)


def _epoch_logger(epochs: int) -> Any:
    """A Keras callback logging one line per epoch (Keras' own bar is off: logs, not TTY art)."""
    import keras

    class EpochLog(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
            took = time.perf_counter() - self._start
            log.info("epoch %d/%d (%.1fs): %s", epoch + 1, epochs, took, shown)

    return EpochLog()


def _gather_files(data_dir: str | Path, feedback_dir: str | Path | None) -> list[LabelledFile]:
    files = list_labelled(data_dir)
    if feedback_dir is not None:
        extra = list_labelled(feedback_dir, prefix="feedback/", strict_labels=True)
        log.info("merged %d labelled feedback images from %s", len(extra), feedback_dir)
        files += extra
    present = {f.label for f in files}
    missing = [c for c in CLASSES if c not in present]
    if missing:
        raise InputError(
            f"no training images for class(es) {missing} under '{data_dir}'; every class needs "
            "at least two images"
        )
    return files


def train(
    data_dir: str | Path,
    out_uri: str | Path,
    *,
    arch: str = "small_cnn",
    epochs: int = 8,
    batch_size: int = 32,
    image_size: int = 128,
    seed: int = 1234,
    feedback_dir: str | Path | None = None,
    val_fraction: float = 0.15,
) -> TrainResult:
    """Train ``arch`` on ``<data_dir>/<class>/*`` (+ feedback) and write the model folder to ``out_uri``."""
    import keras

    from driftloop.model.evaluation import compute_metrics
    from driftloop.storage.artifacts import ArtifactStore

    if arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture '{arch}'; choose one of {list(ARCHITECTURES)}")
    if not 0 < val_fraction < 1:
        raise InputError(f"val_fraction {val_fraction} must be between 0 and 1 (exclusive)")
    if epochs < 1 or batch_size < 1:
        raise InputError(f"epochs ({epochs}) and batch_size ({batch_size}) must be at least 1")
    started = time.perf_counter()
    files = _gather_files(data_dir, feedback_dir)
    data_fp = fingerprint(files)
    x, y = load_labelled(files, image_size)
    tr, va = split_stratified(y, val_fraction, seed)
    log.info("training %s on %d images, validating on %d (seed %d)", arch, len(tr), len(va), seed)

    keras.utils.set_random_seed(seed)
    model = build_model(arch, image_size=image_size, n_classes=len(CLASSES))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x[tr].astype(np.float32),
        y[tr],
        validation_data=(x[va].astype(np.float32), y[va]),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[_epoch_logger(epochs)],
    )
    probs = np.asarray(
        model.predict(x[va].astype(np.float32), batch_size=64, verbose=0), np.float32
    )
    val_fp = fingerprint([files[i] for i in va])
    metrics = compute_metrics(y[va], probs, CLASSES, evaluated_on=val_fp)
    params = {
        "arch": arch,
        "epochs": epochs,
        "batch_size": batch_size,
        "image_size": image_size,
        "seed": seed,
        "val_fraction": val_fraction,
        "data_dir": str(data_dir),
        "feedback_dir": None if feedback_dir is None else str(feedback_dir),
        "n_train": len(tr),
        "n_val": len(va),
        "n_feedback": sum(1 for f in files if f.key.startswith("feedback/")),
        "seconds": round(time.perf_counter() - started, 2),
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
    }
    out = str(out_uri)
    store = ArtifactStore(out)
    with tempfile.TemporaryDirectory(prefix="driftloop-train-") as tmp:
        folder = Path(tmp)
        model.save(folder / "model.keras")
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        (folder / "classes.json").write_text(json.dumps(list(CLASSES)), encoding="utf-8")
        (folder / "fingerprint.txt").write_text(data_fp + "\n", encoding="utf-8")
        (folder / "train.json").write_text(json.dumps(params, indent=2), encoding="utf-8")
        model_uri = store.put_dir(folder, store.root)
    auc = metrics["macro_auc"]
    log.info(
        "trained %s in %.1fs: held-out accuracy %.3f, macro AUC %s -> %s",
        arch,
        params["seconds"],
        metrics["accuracy"],
        "n/a" if auc is None else f"{auc:.3f}",
        model_uri,
    )
    return TrainResult(model_uri=model_uri, metrics=metrics, fingerprint=data_fp)
