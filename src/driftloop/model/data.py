"""Labelled image folders -> arrays, and the fingerprint that names a data set.

A data folder holds ``<class>/*.jpg|png`` (classes from
:data:`driftloop.constants.CLASSES`). Images are decoded to grey (RGB is
converted with the ITU-R 601 luma weights by PIL) and resized to the model's
working size once, here, so training and batched prediction see exactly the
same pixels. The model also resizes inside itself, so a raw image of any size
fed to ``keras_model`` directly gives (nearly) the same answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from driftloop.constants import CLASSES
from driftloop.errors import InputError

__all__ = [
    "IMAGE_SUFFIXES",
    "LabelledFile",
    "decode_image",
    "fingerprint",
    "list_images",
    "list_labelled",
    "load_labelled",
    "to_grey",
]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclasses.dataclass(frozen=True, slots=True)
class LabelledFile:
    """One training or evaluation image: where it is, its class, and its key in the fingerprint."""

    path: Path
    label: str
    key: str


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def list_images(folder: str | Path) -> list[Path]:
    """Every image under ``folder`` (recursively), sorted; raises when there is none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"image folder '{root}' does not exist; pass a folder of .jpg/.png files")
    # scandir's entries know their type (no stat per file); sorting on the split path
    # gives Path's own order at a fraction of the cost of comparing Path objects.
    found = [Path(p) for p in sorted(_image_files(str(root)), key=lambda p: p.split(os.sep))]
    if not found:
        raise InputError(f"image folder '{root}' holds no .jpg/.png images")
    return found


def _image_files(folder: str) -> Iterator[str]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():
                yield from _image_files(entry.path)
            elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                yield entry.path


def list_labelled(
    data_dir: str | Path,
    *,
    classes: Sequence[str] = CLASSES,
    prefix: str = "",
    strict_labels: bool = False,
) -> list[LabelledFile]:
    """The images in ``<data_dir>/<class>/``.

    With ``strict_labels`` (feedback folders) a sub-folder that is not a known
    class is an error, because a mislabelled feedback folder would silently
    be dropped from retraining otherwise.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(
            f"data folder '{root}' does not exist; it must hold one sub-folder per class "
            f"({', '.join(classes)})"
        )
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in subdirs if p.name not in classes]
    if unknown and strict_labels:
        raise InputError(
            f"folder '{root}' has unknown label(s) {unknown}; rename them to one of "
            f"{list(classes)} or move them out"
        )
    files: list[LabelledFile] = []
    for sub in subdirs:
        if sub.name not in classes:
            continue
        for path in _images_in(sub):
            files.append(LabelledFile(path, sub.name, f"{prefix}{sub.name}/{path.name}"))
    if not files and not strict_labels:
        raise InputError(
            f"data folder '{root}' holds no images in class folders {list(classes)}; "
            "expected <data>/<class>/*.jpg"
        )
    return files


def fingerprint(files: Iterable[LabelledFile]) -> str:
    """sha256 over the sorted (relative path, file sha256, label) triples."""
    rows = sorted((f.key, hashlib.sha256(f.path.read_bytes()).hexdigest(), f.label) for f in files)
    digest = hashlib.sha256()
    for key, sha, label in rows:
        digest.update(f"{key}\t{sha}\t{label}\n".encode())
    return digest.hexdigest()


def to_grey(array: NDArray[np.generic]) -> NDArray[np.uint8]:
    """A 2-D uint8 grey image from grey (H,W), (H,W,1), RGB or RGBA input."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3 and arr.shape[-1] in (3, 4):
        rgb = arr[..., :3].astype(np.float32)
        arr = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if arr.ndim != 2:
        raise InputError(
            f"image array has shape {arr.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
        )
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return arr


def resize_grey(array: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Bilinear resize of a 2-D uint8 image to ``size`` x ``size`` (a no-op at that size)."""
    if array.shape == (size, size):
        return array
    from PIL import Image

    img = Image.fromarray(array).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def decode_image(path: str | Path, size: int) -> NDArray[np.uint8]:
    """Decode one file to a ``size`` x ``size`` uint8 grey array.

    JPEGs are decoded at a reduced scale when the file is at least twice the
    working size (libjpeg's DCT scaling: PIL's draft mode, ~2.6x faster than a
    full decode and a resize), then resized bilinearly to the square.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        data = Path(path).read_bytes()
        fast = _grey_jpeg_draft(data, size)
        if fast is not None:
            return fast
        with Image.open(io.BytesIO(data)) as img:
            img.draft("L", (size, size))
            grey = img.convert("L")
            if grey.size != (size, size):
                grey = grey.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(grey, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(
            f"cannot decode image '{path}': {exc}; remove or replace the file"
        ) from None


def _grey_jpeg_draft(data: bytes, size: int) -> NDArray[np.uint8] | None:
    """PIL's draft decode of a greyscale JPEG, by simplejpeg; None leaves it to PIL."""
    from PIL import Image

    from driftloop.features.image import decode_grey_jpeg

    decoded = decode_grey_jpeg(data, draft=size)
    if decoded is None:
        return None
    pixels = decoded[0]
    if pixels.shape != (size, size):
        resized = Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(resized, dtype=np.uint8)
    return np.ascontiguousarray(pixels)


def load_labelled(
    files: Sequence[LabelledFile], size: int, classes: Sequence[str] = CLASSES
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Decode ``files`` to ``(n, size, size, 1)`` uint8 and integer labels."""
    index = {name: i for i, name in enumerate(classes)}
    x = np.empty((len(files), size, size, 1), dtype=np.uint8)
    y = np.empty(len(files), dtype=np.int64)
    for i, f in enumerate(files):
        x[i, ..., 0] = decode_image(f.path, size)
        y[i] = index[f.label]
    counts = {name: int((y == i).sum()) for name, i in index.items()}
    log.info("decoded %d images at %dx%d, per class %s", len(files), size, size, counts)
    return x, y
