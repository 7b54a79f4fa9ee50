"""Decide whether one file is an image driftloop accepts, and if not, why.

Checks, in order (the first failure is the reason): empty file, file too large,
DICOM or PIL header readable, format allowed, dimensions from the header within
the decompression-bomb guard (``max_pixels``) *before* any pixel is decoded,
minimum side, a supported pixel mode, then a full decode with PIL's
``LOAD_TRUNCATED_IMAGES`` off so truncated files fail. Every outcome is a
:class:`Verdict`; this module never raises on bad input.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageFile, UnidentifiedImageError

from driftloop.config import IngestSettings
from driftloop.features.image import is_dicom

__all__ = ["REASON_CODES", "SUPPORTED_MODES", "Verdict", "validate_bytes"]

# Stable, short codes; the human reason names the value. Documented in docs/ingest.md.
REASON_CODES: Final = {
    "empty_file": "the file has zero bytes",
    "too_large": "file size or pixel count above the configured limit",
    "too_small": "width or height below settings.ingest.min_side",
    "not_an_image": "no known image header (text, random bytes, ...)",
    "unsupported_format": "an image format not in settings.ingest.formats",
    "unsupported_mode": "a pixel mode driftloop cannot normalise",
    "truncated": "the file ends before the image data does",
    "decode_error": "the header is readable but the pixels are corrupt",
    "dicom_no_pixels": "a DICOM file without a PixelData element",
    "duplicate": "same content (sha256) as an earlier file in the run",
    "unreadable": "the source could not be read (vanished, permission)",
}

SUPPORTED_MODES: Final = frozenset(
    {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
     "LAB", "HSV", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """The outcome for one file: accepted (``reason_code`` None) or why not."""

    format: str | None
    width: int | None
    height: int | None
    mode: str | None
    reason_code: str | None = None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason_code is None


def _reject(code: str, reason: str, fmt: str | None = None, w: int | None = None,
            h: int | None = None, mode: str | None = None) -> Verdict:  # fmt: skip
    return Verdict(fmt, w, h, mode, code, reason)


def _check_dims(fmt: str, w: int, h: int, mode: str, settings: IngestSettings) -> Verdict | None:
    if w * h > settings.max_pixels:
        return _reject(
            "too_large",
            f"{w}x{h} = {w * h} pixels exceeds max_pixels={settings.max_pixels}",
            fmt, w, h, mode,
        )  # fmt: skip
    if min(w, h) < settings.min_side:
        return _reject(
            "too_small", f"{w}x{h} is below min_side={settings.min_side}", fmt, w, h, mode
        )
    return None


def _validate_dicom(data: bytes, settings: IngestSettings) -> Verdict:
    import pydicom

    from driftloop.features.image import decode_dicom

    try:
        # Pixel bytes are read but not decoded here: the header checks come first.
        # pydicom warns about every malformed value; the verdict below says what matters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
        has_pixels, has_rows = "PixelData" in ds, "Rows" in ds
    except Exception as exc:  # force=True parsing of junk raises many types
        return _reject("decode_error", f"unreadable DICOM header: {type(exc).__name__}: {exc}")
    # Without the DICM magic only the .dcm name said "DICOM": demand image elements.
    if data[128:132] != b"DICM" and not (has_rows or has_pixels):
        return _reject("not_an_image", f"named like DICOM but no DICOM content ({data[:8]!r})")
    if not has_pixels:
        return _reject("dicom_no_pixels", "DICOM file has no PixelData element", "DICOM")
    try:
        rows, cols = int(getattr(ds, "Rows", 0) or 0), int(getattr(ds, "Columns", 0) or 0)
    except Exception as exc:  # a corrupt element surfaces when it is first read
        return _reject("decode_error", f"unreadable DICOM Rows/Columns: {exc}", "DICOM")
    problem = _check_dims("DICOM", cols, rows, "DICOM", settings)
    if problem:
        return problem
    try:
        _pixels, meta = decode_dicom(io.BytesIO(data))
    except Exception as exc:  # pydicom raises many types for corrupt/unsupported pixel data
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        code = (
            "truncated" if "length" in text.lower() or "truncat" in text.lower() else "decode_error"
        )
        return _reject(code, f"DICOM pixel data cannot be decoded: {text}", "DICOM", cols, rows)
    return Verdict("DICOM", meta.width, meta.height, meta.mode)


def validate_bytes(data: bytes, name: str, settings: IngestSettings) -> Verdict:
    """Validate the content of one file; ``name`` is only used to recognise ``.dcm``."""
    allowed = {f.upper() for f in settings.formats}
    if not data:
        return _reject("empty_file", "file is empty (0 bytes)")
    if len(data) > settings.max_file_bytes:
        return _reject(
            "too_large",
            f"file size {len(data)} bytes exceeds max_file_bytes={settings.max_file_bytes}",
        )
    if is_dicom(data[:132], name):
        if "DICOM" not in allowed:
            return _reject(
                "unsupported_format",
                f"format DICOM not in allowed formats {sorted(allowed)}",
                "DICOM",
            )
        return _validate_dicom(data, settings)
    with warnings.catch_warnings():
        # Our own max_pixels guard decides; PIL's warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            return _reject("too_large", f"decompression bomb: {exc}")
        except UnidentifiedImageError:
            return _reject("not_an_image", f"no known image header (starts with {data[:8]!r})")
        except Exception as exc:  # plugins raise SyntaxError, struct.error, ... on bad headers
            return _reject("decode_error", f"unreadable image header: {type(exc).__name__}: {exc}")
        fmt, (w, h), mode = str(im.format), im.size, im.mode
        if fmt not in allowed:
            return _reject(
                "unsupported_format",
                f"format {fmt} not in allowed formats {sorted(allowed)}",
                fmt,
                w,
                h,
                mode,
            )
        problem = _check_dims(fmt, w, h, mode, settings)
        if problem:
            return problem
        if mode not in SUPPORTED_MODES:
            return _reject(
                "unsupported_mode", f"pixel mode {mode!r} is not supported", fmt, w, h, mode
            )
        return _full_decode(im, fmt, w, h, mode)


def _full_decode(im: Image.Image, fmt: str, w: int, h: int, mode: str) -> Verdict:
    # The global is PIL's default; set it explicitly so another library flipping it
    # cannot make truncated files pass.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        im.load()
    except (OSError, EOFError) as exc:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, EOFError) or "truncated" in text:
            return _reject("truncated", f"{fmt} image is truncated: {text}", fmt, w, h, mode)
        return _reject("decode_error", f"{fmt} pixels cannot be decoded: {text}", fmt, w, h, mode)
    except Exception as exc:  # corrupt streams surface as ValueError, SyntaxError, ...
        return _reject(
            "decode_error", f"{fmt} pixels cannot be decoded: {type(exc).__name__}: {exc}",
            fmt, w, h, mode,
        )  # fmt: skip
    return Verdict(fmt, w, h, mode)
