"""What one window holds for performance: model probabilities, and labels where known.

Two sources:

* ``predictions-log``: rows of ``predictions_log`` received in the logical
  date's UTC day (``[00:00, 24:00)``); each has the model's ``probabilities``
  and, once someone gave feedback, a ``feedback_label``.
* ``labels``: the day's feature table (``runs/<date>/features/``, extracted
  with a model, so it has ``prob_<class>`` columns) joined by file name with a
  labels table (CSV with ``file`` and ``class`` columns, as the demo's
  ``labels.csv``). When the table's paths name date folders, only rows under
  ``<date>/`` are used, so ``img_00001.jpg`` of another day never matches.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from driftloop.errors import InputError
from driftloop.storage.db import Database
from driftloop.storage.models import PredictionLog

__all__ = ["WindowData", "from_features", "from_predictions_log", "read_labels_csv"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WindowData:
    """Raw model probabilities of a window's images; ``labels[i] == -1`` when unknown."""

    probabilities: NDArray[np.float64]  # (n, C)
    labels: NDArray[np.int64]  # (n,)
    classes: tuple[str, ...]
    source: str
    n_unusable_labels: int = 0

    @property
    def labelled(self) -> NDArray[np.bool_]:
        mask: NDArray[np.bool_] = self.labels >= 0
        return mask

    @property
    def n_labels(self) -> int:
        return int(self.labelled.sum())


def _label_index(
    labels: Sequence[str | None], classes: Sequence[str]
) -> tuple[NDArray[np.int64], int]:
    index = {c: i for i, c in enumerate(classes)}
    out = np.full(len(labels), -1, dtype=np.int64)
    unusable = 0
    for i, label in enumerate(labels):
        if label is None or label == "":
            continue
        if label in index:
            out[i] = index[label]
        else:
            unusable += 1
    return out, unusable


def from_predictions_log(db: Database, day: dt.date, classes: Sequence[str]) -> WindowData:
    """The predictions logged in ``day`` (UTC), with their feedback labels."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    with db.session() as session:
        rows = session.execute(
            select(PredictionLog.probabilities, PredictionLog.feedback_label)
            .where(PredictionLog.received_at >= start, PredictionLog.received_at < end)
            .order_by(PredictionLog.received_at, PredictionLog.id)
        ).all()
    probs = np.zeros((len(rows), len(classes)), dtype=np.float64)
    keep = np.ones(len(rows), dtype=bool)
    for i, (p, _label) in enumerate(rows):
        p = p or {}
        if not all(c in p for c in classes):
            keep[i] = False  # a row from a model with other classes cannot be scored
            continue
        probs[i] = [float(p[c]) for c in classes]
    if not keep.all():
        log.warning(
            "%d prediction(s) on %s lack probabilities for %s; skipped",
            int((~keep).sum()),
            day.isoformat(),
            list(classes),
        )
    labels, unusable = _label_index([r[1] for r, k in zip(rows, keep, strict=True) if k], classes)
    if unusable:
        log.warning("%d feedback label(s) on %s are not model classes; ignored", unusable, day)
    data = WindowData(probs[keep], labels, tuple(classes), "predictions-log", unusable)
    log.info(
        "predictions log %s: %d predictions, %d with feedback labels",
        day.isoformat(),
        len(data.labels),
        data.n_labels,
    )
    return data


def read_labels_csv(path: str, day: dt.date | None = None) -> dict[str, str]:
    """File name -> class from a labels CSV (``file``, ``class`` columns); empty classes skipped."""
    from driftloop.storage.artifacts import ArtifactStore

    store = ArtifactStore(path.rsplit("/", 1)[0] if "/" in path else ".")
    if not store.exists(path):
        raise InputError(f"labels table '{path}' not found; pass a CSV with file,class columns")
    reader = csv.DictReader(store.read_text(path).splitlines())
    if reader.fieldnames is None or not {"file", "class"} <= set(reader.fieldnames):
        raise InputError(
            f"labels table '{path}' has columns {reader.fieldnames}; it needs 'file' and 'class'"
        )
    rows = [(r["file"].replace("\\", "/"), (r["class"] or "").strip()) for r in reader]
    if day is not None and any(day.isoformat() in PurePosixPath(f).parts for f, _ in rows):
        rows = [(f, c) for f, c in rows if day.isoformat() in PurePosixPath(f).parts]
    out: dict[str, str] = {}
    ambiguous: set[str] = set()
    for file, label in rows:
        name = PurePosixPath(file).name
        if not label:
            continue
        if name in out and out[name] != label:
            ambiguous.add(name)
        out[name] = label
    for name in ambiguous:
        del out[name]
    if ambiguous:
        log.warning("%d file name(s) in '%s' carry two labels; ignored", len(ambiguous), path)
    return out


def from_features(
    features: Any, labels: dict[str, str], classes: Sequence[str], source: str = "labels"
) -> WindowData:
    """Probabilities from a feature table's ``prob_<class>`` columns, labelled by file name."""
    missing = [f"prob_{c}" for c in classes if f"prob_{c}" not in features.columns]
    if missing:
        raise InputError(
            f"the feature table has no model columns {missing}; extract features with a model "
            "('driftloop extract --model URI') to measure performance"
        )
    probs = features[[f"prob_{c}" for c in classes]].to_numpy(dtype=np.float64)
    valid = np.isfinite(probs).all(axis=1)
    names = [PurePosixPath(str(u).replace("\\", "/")).name for u in features["uri"]]
    y, unusable = _label_index(
        [labels.get(n) for n, v in zip(names, valid, strict=True) if v], classes
    )
    data = WindowData(probs[valid], y, tuple(classes), source, unusable)
    log.info(
        "feature table: %d images with model outputs, %d matched to labels",
        len(data.labels),
        data.n_labels,
    )
    return data
