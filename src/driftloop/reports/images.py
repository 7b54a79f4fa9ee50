"""Which current images look least like the reference, and small embedded thumbnails of them."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from driftloop.storage.artifacts import is_local

__all__ = ["Atypical", "rank_atypical", "thumbnail_data_uri"]

log = logging.getLogger(__name__)

# MAD -> standard deviation for a normal distribution.
_MAD_SCALE = 1.4826


@dataclasses.dataclass(frozen=True, slots=True)
class Atypical:
    """One current image and why it stands out: its largest robust z-score."""

    uri: str
    score: float
    feature: str
    z: float


def rank_atypical(
    current_df: pd.DataFrame,
    reference_df: pd.DataFrame,
    features: Sequence[str],
    *,
    limit: int = 12,
) -> list[Atypical]:
    """Rank current rows by max |robust z| over ``features`` against the reference.

    Robust z = (x - reference median) / (1.4826 * reference MAD): medians keep
    one odd reference image from hiding the others.
    """
    usable = [
        f
        for f in features
        if f in current_df.columns
        and f in reference_df.columns
        and pd.api.types.is_numeric_dtype(current_df[f])
        and pd.api.types.is_numeric_dtype(reference_df[f])
    ]
    if not usable or current_df.empty or "uri" not in current_df.columns:
        return []
    ref = reference_df[usable].to_numpy(dtype=float)
    median = np.nanmedian(ref, axis=0)
    mad = np.nanmedian(np.abs(ref - median), axis=0) * _MAD_SCALE
    # A constant reference feature would divide by zero; fall back to its std, then 1.
    std = np.nanstd(ref, axis=0)
    scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
    z = (current_df[usable].to_numpy(dtype=float) - median) / scale
    absz = np.nan_to_num(np.abs(z), nan=0.0)
    best = absz.argmax(axis=1)
    scores = absz[np.arange(len(absz)), best]
    order = np.argsort(-scores, kind="stable")[:limit]
    uris = current_df["uri"].astype(str).to_numpy()
    return [
        Atypical(
            uri=str(uris[i]),
            score=float(scores[i]),
            feature=usable[int(best[i])],
            z=float(z[i, best[i]]),
        )
        for i in order
    ]


def _decode(path: str) -> object | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.draft("L", (256, 256))
            return im.convert("L")
    except Exception:
        pass
    # DICOM and other formats the features package knows how to decode.
    load_image = getattr(importlib.import_module("driftloop.features"), "load_image", None)
    if load_image is None:
        return None
    try:
        array, _meta = load_image(path)
        return Image.fromarray(np.asarray(array, dtype=np.uint8))
    except Exception:
        return None


def thumbnail_data_uri(uri: str, *, size: int = 112, quality: int = 70) -> str | None:
    """A small JPEG of the image as a ``data:`` URI, or None when it cannot be decoded."""
    path = uri[len("file://") :] if uri.startswith("file://") else uri
    if not is_local(uri) or not Path(path).is_file():
        return None
    image = _decode(path)
    if image is None:
        return None
    from PIL import Image

    assert isinstance(image, Image.Image)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.convert("L").save(buffer, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
