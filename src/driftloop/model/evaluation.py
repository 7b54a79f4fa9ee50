"""Classification metrics, the same keys for training, evaluation and the gate.

``metrics.json`` holds: ``accuracy``, ``macro_auc`` (one-vs-rest), ``macro_f1``,
``per_class`` (precision, recall, f1, support, auc per class),
``confusion_matrix`` (rows = true class, columns = predicted, in ``classes``
order), ``classes``, ``n`` and ``evaluated_on`` (the fingerprint of the
images the numbers come from; the gate compares models only on the same one).
A class with no positive or no negative example has no AUC (null); the macro
AUC averages the classes that have one, and is null when none has.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["METRIC_KEYS", "compute_metrics", "evaluate"]

log = logging.getLogger(__name__)

METRIC_KEYS = (
    "accuracy",
    "macro_auc",
    "macro_f1",
    "per_class",
    "confusion_matrix",
    "classes",
    "n",
    "evaluated_on",
)  # evaluate() adds "model_version"


def _auc(y_true: NDArray[np.int64], scores: NDArray[np.float32], cls: int) -> float | None:
    from sklearn.metrics import roc_auc_score

    positive = y_true == cls
    if positive.all() or not positive.any():
        return None
    return float(roc_auc_score(positive, scores[:, cls]))


def compute_metrics(
    y_true: NDArray[np.int64],
    probabilities: NDArray[np.float32],
    classes: Sequence[str],
    *,
    evaluated_on: str | None = None,
) -> dict[str, Any]:
    """All metrics for true labels ``y_true`` and predicted ``probabilities`` (n, C)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    y_pred = probabilities.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    aucs = [_auc(y_true, probabilities, i) for i in labels]
    known = [a for a in aucs if a is not None]
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "auc": aucs[i],
        }
        for i, name in enumerate(classes)
    }
    present = [i for i in labels if support[i] > 0]
    macro_f1 = float(np.mean([f1[i] for i in present])) if present else math.nan
    return {
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else math.nan,
        "macro_auc": float(np.mean(known)) if known else None,
        "macro_f1": macro_f1,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": list(classes),
        "n": len(y_true),
        "evaluated_on": evaluated_on,
    }


def evaluate(model_uri: str, data_dir: str | Path, *, batch_size: int = 64) -> dict[str, Any]:
    """Metrics of the model at ``model_uri`` on the labelled images in ``<data_dir>/<class>/``."""
    from driftloop.model.data import fingerprint, list_labelled, load_labelled
    from driftloop.model.predict import load_model

    model = load_model(model_uri)
    files = list_labelled(data_dir, classes=model.classes)
    x, y = load_labelled(files, model.image_size, model.classes)
    preds = model.predict_arrays(list(x[..., 0]), batch_size=batch_size)
    metrics = compute_metrics(
        y, preds.probabilities, model.classes, evaluated_on=fingerprint(files)
    )
    metrics["model_version"] = model.version
    log.info(
        "evaluated %s on %d images from %s: accuracy %.3f, macro AUC %s",
        model.version,
        len(files),
        data_dir,
        metrics["accuracy"],
        "n/a" if metrics["macro_auc"] is None else f"{metrics['macro_auc']:.3f}",
    )
    return metrics
