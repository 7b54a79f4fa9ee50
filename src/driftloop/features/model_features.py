"""Model features: what the classifier says about each image, batched.

Columns: ``pred_class, confidence, margin`` (top-1 minus top-2 probability),
``softmax_entropy`` (nats), ``prob_<class>`` per class, ``embedding``
(list<float32>) and, for images predicted as a tumour class, the lesion
features of :mod:`driftloop.features.tumour`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from driftloop.config import Settings
from driftloop.constants import TUMOUR_CLASSES
from driftloop.errors import DriftloopError, FeatureError

__all__ = [
    "ClassifierLike",
    "PredictionsLike",
    "add_model_features",
    "model_input_array",
    "model_input_size",
    "resolve_model_uri",
    "softmax_summary",
]


class PredictionsLike(Protocol):
    probabilities: NDArray[Any]
    embeddings: NDArray[Any]
    pred_class: Sequence[str]
    confidence: NDArray[Any]


class ClassifierLike(Protocol):
    """What extraction needs from ``driftloop.model.LoadedModel``."""

    @property
    def classes(self) -> Sequence[str]: ...

    def predict_arrays(self, arrays: Sequence[NDArray[Any]], batch_size: int = ...) -> Any: ...

    def saliency(self, arrays: Sequence[NDArray[Any]], batch_size: int = ...) -> Any: ...


def resolve_model_uri(model_uri: str, settings: Settings) -> str:
    """The model folder for ``model_uri``: a folder/URI, ``"current"`` or a registered version.

    ``"current"`` is the champion named by ``models/CURRENT`` in the artifact store;
    a bare name that is not an existing path is looked up as a registered version.
    Relative paths are taken from the working directory.
    """
    from driftloop.ingest.manifest import absolute_uri
    from driftloop.storage.artifacts import ArtifactStore, is_local

    if "://" in model_uri and not model_uri.startswith("file://"):
        return absolute_uri(model_uri)
    if model_uri != "current" and (not is_local(model_uri) or Path(model_uri).exists()):
        return absolute_uri(model_uri)
    if "/" in model_uri or model_uri.startswith("."):
        raise FeatureError(
            f"model folder '{model_uri}' ({absolute_uri(model_uri)}) does not exist; pass a folder "
            "written by 'driftloop model train', 'current' or a registered version"
        )
    from driftloop.model import Registry
    from driftloop.storage.db import Database

    db = Database(settings.db_url)
    try:
        registry = Registry(db, ArtifactStore(settings.artifacts_uri))
        if model_uri == "current":
            uri = registry.current_uri()
            if uri is None:
                raise FeatureError(
                    f"model 'current': no champion under {settings.artifacts_uri}/models/CURRENT; "
                    "promote one with 'driftloop model promote' or pass --model FOLDER"
                )
            return absolute_uri(uri)
        try:
            return absolute_uri(str(registry.get(model_uri).uri))
        except DriftloopError as exc:
            raise FeatureError(
                f"model '{model_uri}' is neither a folder nor a registered version ({exc})"
            ) from None
        except Exception as exc:  # e.g. a database that was never migrated
            raise FeatureError(
                f"model '{model_uri}' is not a folder and the registry could not be read "
                f"({type(exc).__name__}: {exc}); pass a model folder or run 'driftloop db upgrade'"
            ) from None
    finally:
        db.dispose()


def model_input_size(settings: Settings) -> int:
    """Side of the square grey array handed to the model (``settings.model.image_size``)."""
    return settings.model.image_size


def model_input_array(uri: str, fmt: str | None, size: int) -> NDArray[np.uint8]:
    """The image as grey uint8 ``size`` x ``size`` (what workers send back, ~16 kB)."""
    from driftloop.features.image import load_working

    return load_working(uri, size, fmt).pixels


def softmax_summary(probs: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Margin (top-1 minus top-2) and entropy in nats, per row."""
    p = np.asarray(probs, dtype=np.float64)
    top = np.sort(p, axis=1)[:, ::-1]
    margin = top[:, 0] - (top[:, 1] if p.shape[1] > 1 else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log(p), 0.0)
    return margin, -(p * logs).sum(axis=1)


def add_model_features(
    rows: list[dict[str, Any]],
    arrays: Sequence[NDArray[Any]],
    model: ClassifierLike,
    batch_size: int,
) -> None:
    """Add the model (and tumour) columns to ``rows`` in place, in batches."""
    from driftloop.features.tumour import NAN_LESION, lesion_features

    classes = list(model.classes)
    for start in range(0, len(rows), batch_size):
        batch_rows = rows[start : start + batch_size]
        batch = [np.asarray(a) for a in arrays[start : start + batch_size]]
        pred = model.predict_arrays(batch, batch_size=batch_size)
        probs = np.asarray(pred.probabilities, dtype=np.float64)
        margin, entropy = softmax_summary(probs)
        embeddings = np.asarray(pred.embeddings, dtype=np.float32)
        tumour_idx = [i for i, c in enumerate(pred.pred_class) if c in TUMOUR_CLASSES]
        maps: Any = model.saliency([batch[i] for i in tumour_idx]) if tumour_idx else []
        lesions = {i: lesion_features(batch[i], maps[j]) for j, i in enumerate(tumour_idx)}
        for i, row in enumerate(batch_rows):
            row["pred_class"] = str(pred.pred_class[i])
            row["confidence"] = float(pred.confidence[i])
            row["margin"] = float(margin[i])
            row["softmax_entropy"] = float(entropy[i])
            for k, name in enumerate(classes):
                row[f"prob_{name}"] = float(probs[i, k])
            row.update(lesions.get(i, NAN_LESION))
            row["embedding"] = embeddings[i].tolist()


def resize_grey(arr: NDArray[Any], size: int) -> NDArray[np.uint8]:
    """Resize a grey uint8 array to ``size`` x ``size`` (bilinear)."""
    im = Image.fromarray(np.asarray(arr, dtype=np.uint8))
    return np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
