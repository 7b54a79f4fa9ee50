"""Uploaded images: validate exactly as ingest does, decode, a few cheap features, store.

Validation reuses :func:`driftloop.ingest.validate.validate_bytes`, so the API
accepts exactly the files a monitoring run accepts, with the same reason codes.
Images are stored content-addressed (``<sha256>.<ext>``) with atomic writes, and
only after the model has answered, so a rejected or failed request leaves
nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from driftloop.config import IngestSettings
from driftloop.errors import InputError
from driftloop.features.compute import intensity_features
from driftloop.features.image import decode_dicom, pil_to_array
from driftloop.ingest.validate import validate_bytes
from driftloop.storage.artifacts import Layout

__all__ = ["ApiError", "PreparedImage", "prepare_image", "store_feedback", "store_prediction"]

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "BMP": "bmp", "DICOM": "dcm"}

# Reason codes of validate_bytes -> HTTP status: size is 413, "not an image we take" is 415,
# an image we cannot use is 422.
_STATUS = {
    "empty_file": 400,
    "too_large": 413,
    "not_an_image": 415,
    "unsupported_format": 415,
    "unsupported_mode": 415,
}
_INTENSITY_KEYS = ("mean", "std", "p1", "p50", "p99", "entropy")


class ApiError(InputError):
    """A request the API refuses: HTTP ``status``, stable ``code``, and what to do."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class PreparedImage:
    """A validated, decoded upload and the features logged with its prediction."""

    data: bytes
    sha256: str
    format: str
    pixels: NDArray[np.uint8]
    features: dict[str, Any] = field(default_factory=dict)

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.format, self.format.lower())


def _decode(data: bytes, fmt: str) -> NDArray[np.uint8]:
    if fmt == "DICOM":
        return decode_dicom(io.BytesIO(data))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return pil_to_array(im)


def _grey(pixels: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if pixels.ndim == 2:
        return pixels
    return np.asarray(Image.fromarray(pixels[..., :3]).convert("L"), dtype=np.uint8)


def prepare_image(data: bytes, name: str, ingest: IngestSettings, max_bytes: int) -> PreparedImage:
    """Validate and decode one upload; raises :class:`ApiError` (4xx) for bad input."""
    if not data:
        raise ApiError(400, "empty_body", "the image is empty (0 bytes); send the file's content")
    if len(data) > max_bytes:
        raise ApiError(
            413,
            "too_large",
            f"image of {len(data)} bytes exceeds serving.max_upload_bytes={max_bytes}; "
            "send a smaller file",
        )
    verdict = validate_bytes(data, name, ingest)
    if not verdict.accepted:
        code = verdict.reason_code or "decode_error"
        raise ApiError(_STATUS.get(code, 422), code, f"image rejected: {verdict.reason}")
    fmt = str(verdict.format)
    try:
        pixels = _decode(data, fmt)
    except Exception as exc:  # validation passed, so this is rare; still the input's fault
        raise ApiError(
            422, "decode_error", f"{fmt} image cannot be decoded: {type(exc).__name__}: {exc}"
        ) from None
    grey = _grey(pixels)
    stats = intensity_features(np.bincount(grey.ravel(), minlength=256))
    features: dict[str, Any] = {k: round(float(stats[k]), 4) for k in _INTENSITY_KEYS}
    features.update(
        width=int(verdict.width or grey.shape[1]),
        height=int(verdict.height or grey.shape[0]),
        format=fmt,
        mode=verdict.mode,
        file_size=len(data),
    )
    return PreparedImage(data, hashlib.sha256(data).hexdigest(), fmt, pixels, features)


def _put(layout: Layout, uri: str, data: bytes) -> str:
    # Content-addressed: an existing file already holds exactly these bytes.
    if not layout.store.exists(uri):
        layout.store.write_bytes(uri, data)
    return layout.store.resolve(uri)


def store_prediction(layout: Layout, image: PreparedImage, received_at: dt.datetime) -> str:
    """Write the image to predictions/<UTC day>/<sha256>.<ext>; returns its URI."""
    day = received_at.astimezone(dt.UTC).date().isoformat()
    uri = f"{layout.predictions_dir()}/{day}/{image.sha256}.{image.extension}"
    return _put(layout, uri, image.data)


def feedback_uri(layout: Layout, label: str, sha256: str, extension: str) -> str:
    """Where a labelled image goes: feedback/<label>/<sha256>.<ext>."""
    return f"{layout.feedback_dir()}/{label}/{sha256}.{extension}"


def store_feedback(layout: Layout, label: str, sha256: str, extension: str, data: bytes) -> str:
    """Write a labelled image under feedback/<label>/; returns its URI."""
    return _put(layout, feedback_uri(layout, label, sha256, extension), data)
