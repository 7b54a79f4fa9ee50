"""Bad files for the dirty day: every way an upload can be unusable.

Each writer creates one file and returns its name; ``BAD_KINDS`` lists them in
the order they are written. The huge-dimension file is a real
decompression-bomb header (a PNG claiming 30000 x 30000 pixels) that is only a
few hundred bytes on disk.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from driftloop.demo.dicom import write_dicom
from driftloop.demo.scenarios import encode_jpeg

__all__ = ["BAD_KINDS", "BOMB_SIDE", "write_bad_file"]

BAD_KINDS = (
    "truncated_jpeg",
    "zero_byte",
    "text_as_jpeg",
    "huge_dimensions",
    "rgb",
    "dicom_no_pixels",
)
BOMB_SIDE = 30000


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png() -> bytes:
    """A PNG whose header claims BOMB_SIDE x BOMB_SIDE grey pixels, with a few rows of payload."""
    header = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 8, 0, 0, 0, 0)
    rows = b"".join(b"\0" + bytes(BOMB_SIDE) for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 9))
        + _png_chunk(b"IEND", b"")
    )


def _rgb_jpeg(image: NDArray[np.uint8]) -> bytes:
    # A screenshot from a viewer: grey image with a coloured annotation burnt in.
    rgb = np.repeat(image[:, :, None], 3, axis=2)
    n = image.shape[0]
    a, b = n // 5, n // 5 + max(2, n // 64)
    rgb[a:b, a : n - a] = (230, 40, 40)
    rgb[n - b : n - a, a : n - a] = (40, 200, 60)
    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def write_bad_file(kind: str, folder: Path, index: int, image: NDArray[np.uint8], key: str) -> str:
    """Write one bad file of ``kind`` made from ``image``; returns its file name."""
    stem = f"bad_{index:02d}_{kind}"
    if kind == "truncated_jpeg":
        data = encode_jpeg(image)
        name = stem + ".jpg"
        (folder / name).write_bytes(data[: int(len(data) * 0.6)])
    elif kind == "zero_byte":
        name = stem + ".jpg"
        (folder / name).write_bytes(b"")
    elif kind == "text_as_jpeg":
        name = stem + ".jpg"
        (folder / name).write_text(
            "patient notes exported by mistake: not an image\n", encoding="utf-8"
        )
    elif kind == "huge_dimensions":
        name = stem + ".png"
        (folder / name).write_bytes(bomb_png())
    elif kind == "rgb":
        name = stem + ".jpg"
        (folder / name).write_bytes(_rgb_jpeg(image))
    elif kind == "dicom_no_pixels":
        name = stem + ".dcm"
        write_dicom(folder / name, None, key, shape=image.shape)
    else:  # pragma: no cover - guarded by BAD_KINDS
        raise ValueError(kind)
    return name
