"""Decoding every accepted format to 8-bit pixels, the same way everywhere.

Rules (also in docs/ingest.md):

* 8-bit greyscale stays as it is; colour and palette images keep three RGB
  channels in :func:`load_image` and become grey (ITU-R 601 luma, PIL's
  ``convert("L")``) for the intensity features.
* 16-bit and 32-bit images (``I;16``, ``I``, ``F``) are scaled min–max to 0–255.
* DICOM: stored values -> ``value * RescaleSlope + RescaleIntercept``; then, when
  the file has WindowCenter/WindowWidth (the first pair if several), the DICOM
  linear window (PS3.3 C.11.2.1.2) maps them to 0–255; otherwise min–max.
  MONOCHROME1 is inverted so that bright means dense, as in MONOCHROME2.
  Multi-frame files use their first frame.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "BLOCK_CROP",
    "DICOM_MAGIC_OFFSET",
    "ImageMeta",
    "WorkingImage",
    "crop_box",
    "decode_dicom",
    "decode_grey_jpeg",
    "is_dicom",
    "jpeg_quality",
    "load_image",
    "load_working",
    "mode_bit_depth",
    "mode_channels",
    "open_uri",
    "pil_to_array",
    "to_uint8",
]

DICOM_MAGIC_OFFSET = 128
U8 = NDArray[np.uint8]

# IJG standard luminance quantisation table (natural order), the one every
# libjpeg-based encoder scales by the quality setting.
_STD_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip


@dataclass(frozen=True)
class ImageMeta:
    """What the file says about itself (full resolution, before any resizing)."""

    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    mode: str
    jpeg_quality: float | None = None


def is_dicom(head: bytes, name: str = "") -> bool:
    """True for a DICOM Part 10 file (``DICM`` magic) or a ``.dcm`` name."""
    magic = head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM"
    return magic or name.lower().endswith((".dcm", ".dicom"))


def mode_channels(mode: str) -> int:
    """Channels the file stores (a palette image counts as colour)."""
    if mode in ("P", "PA"):
        return 3 + (mode == "PA")
    return Image.getmodebands(mode) if mode in Image.MODES else 1


def mode_bit_depth(mode: str) -> int:
    """Bits per sample of a PIL mode."""
    if mode == "1":
        return 1
    if mode.startswith("I;16"):
        return 16
    if mode in ("I", "F"):
        return 32
    return 8


def jpeg_quality(quantization: dict[int, Any] | None) -> float | None:
    """Estimate the IJG quality (1–100) a JPEG was saved with from its luminance table.

    Inverts libjpeg's scaling: ``scale = mean(q / standard) * 100``; quality is
    ``(200 - scale) / 2`` for scale <= 100, else ``5000 / scale``. Exact for
    libjpeg/PIL encoders to about ±1; a rough figure for custom tables.
    """
    if not quantization or 0 not in quantization:
        return None
    table = np.asarray(list(quantization[0]), dtype=np.float64)
    if table.size != 64:
        return None
    scale = float(np.mean(table / _STD_LUMA) * 100.0)
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return float(min(100.0, max(1.0, round(quality, 1))))


def to_uint8(values: NDArray[Any]) -> U8:
    """Min–max scale any numeric array to 0–255 (a constant array becomes 0)."""
    arr = values.astype(np.float64, copy=False)
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return np.rint((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _window(values: NDArray[np.float64], center: float, width: float) -> U8:
    # DICOM PS3.3 C.11.2.1.2.1 linear VOI LUT function, output range 0..255.
    width = max(width, 1.0)
    low = center - 0.5 - (width - 1.0) / 2.0
    high = center - 0.5 + (width - 1.0) / 2.0
    scaled = ((values - (center - 0.5)) / (width - 1.0 if width > 1 else 1.0) + 0.5) * 255.0
    scaled = np.where(values <= low, 0.0, np.where(values > high, 255.0, scaled))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)


def _first_number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        seq = list(value) if not isinstance(value, (str, bytes)) else [value]
    except TypeError:
        seq = [value]
    try:
        return float(seq[0]) if seq else None
    except (TypeError, ValueError):
        return None


def decode_dicom(source: str | Path | IO[bytes]) -> tuple[U8, ImageMeta]:
    """Decode a DICOM file to 8 bits by the module's windowing rule.

    Raises ``ValueError`` when the file holds no pixel data and whatever pydicom
    raises when the pixels cannot be decoded; callers turn these into reasons.
    """
    import pydicom

    ds = pydicom.dcmread(source, force=True)
    if "PixelData" not in ds:
        raise ValueError("DICOM file has no pixel data (PixelData element missing)")
    pixels = np.asarray(ds.pixel_array)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if pixels.ndim == (4 if samples > 1 else 3):
        pixels = pixels[0]
    bits = int(getattr(ds, "BitsStored", 0) or pixels.dtype.itemsize * 8)
    if samples > 1:
        rgb = pixels if pixels.dtype == np.uint8 else to_uint8(pixels)
        meta = ImageMeta("DICOM", int(rgb.shape[1]), int(rgb.shape[0]), 3, bits, "RGB")
        return np.ascontiguousarray(rgb[..., :3]), meta
    slope = _first_number(getattr(ds, "RescaleSlope", None)) or 1.0
    intercept = _first_number(getattr(ds, "RescaleIntercept", None)) or 0.0
    values = pixels.astype(np.float64) * slope + intercept
    center = _first_number(getattr(ds, "WindowCenter", None))
    width = _first_number(getattr(ds, "WindowWidth", None))
    out = _window(values, center, width) if center is not None and width else to_uint8(values)
    if str(getattr(ds, "PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = (255 - out).astype(np.uint8)
    meta = ImageMeta("DICOM", int(out.shape[1]), int(out.shape[0]), 1, bits, "L")
    return out, meta


def open_uri(uri: str) -> IO[bytes]:
    """A binary file object for a local path or an fsspec URI."""
    if "://" not in uri or uri.startswith("file://"):
        return open(uri.removeprefix("file://"), "rb")
    import fsspec

    data = fsspec.open(uri, "rb").open().read()
    return io.BytesIO(data)


def pil_to_array(im: Image.Image) -> U8:
    """Normalise a loaded PIL image to 2-D grey or 3-D RGB uint8 (rules above)."""
    mode = im.mode
    if mode == "L":
        return np.asarray(im, dtype=np.uint8)
    if mode.startswith("I") or mode == "F":
        return to_uint8(np.asarray(im))
    if mode in ("1", "LA"):
        return np.asarray(im.convert("L"), dtype=np.uint8)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def load_image(path: str | Path) -> tuple[U8, ImageMeta]:
    """Decode any accepted file (path or fsspec URI) to full-resolution 8-bit pixels.

    Returns a 2-D uint8 array for grey images, 3-D (H, W, 3) for colour ones.
    """
    with open_uri(str(path)) as fh:
        head = fh.read(DICOM_MAGIC_OFFSET + 4)
        fh.seek(0)
        if is_dicom(head, str(path)):
            return decode_dicom(fh)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fh)
            im.load()
        quality = jpeg_quality(getattr(im, "quantization", None)) if im.format == "JPEG" else None
        meta = ImageMeta(
            format=str(im.format),
            width=im.width,
            height=im.height,
            channels=mode_channels(im.mode),
            bit_depth=mode_bit_depth(im.mode),
            mode=im.mode,
            jpeg_quality=quality,
        )
        return pil_to_array(im), meta


BLOCK_CROP = 128  # side of the full-resolution central crop blockiness is measured on


@dataclass(frozen=True)
class WorkingImage:
    """A grey image at the working resolution plus what was measured on the way."""

    pixels: U8  # (working_size, working_size) grey
    block_crop: U8  # full-resolution grey central crop, aligned to the 8x8 JPEG grid
    meta: ImageMeta
    histogram: NDArray[np.float64]  # 256-bin histogram of ``pixels``


def _grey(arr: U8) -> U8:
    if arr.ndim == 2:
        return arr
    return np.asarray(Image.fromarray(arr[..., :3]).convert("L"), dtype=np.uint8)


def _open_local_or_remote(uri: str) -> str | IO[bytes]:
    # PIL opens a local path itself (one syscall less than our own file object).
    if "://" not in uri or uri.startswith("file://"):
        return uri.removeprefix("file://")
    return open_uri(uri)


def crop_box(width: int, height: int, side: int = BLOCK_CROP) -> tuple[int, int, int, int]:
    """The central ``side`` square (whole image if smaller), corners on multiples of 8."""
    w, h = min(side, width), min(side, height)
    x0, y0 = ((width - w) // 2) // 8 * 8, ((height - h) // 2) // 8 * 8
    return x0, y0, x0 + w, y0 + h


def _shrink(grey: U8, size: int) -> U8:
    """Box-average by the largest whole factor that stays >= ``size``, then bilinear to it.

    The box average (:func:`kernels.box_reduce`) leaves out the few edge rows and
    columns that fill no whole box; a non-square or odd-sized image is then
    resized bilinearly (PIL) to the ``size`` square.
    """
    from driftloop.features import kernels

    factor = min(grey.shape) // size
    small = kernels.box_reduce(grey, factor) if factor >= 2 else grey
    if small.shape != (size, size):
        resized = Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR)
        small = np.asarray(resized, dtype=np.uint8)
    return small


def load_working(uri: str, working_size: int, fmt: str | None = None) -> WorkingImage:
    """Decode ``uri`` once: the grey working image plus a full-resolution crop for blockiness.

    The working image is the full decode box-averaged by a whole factor (PIL's
    ``reduce``) and resized bilinearly for any remainder. JPEG draft mode (DCT
    scaling) would decode faster, but its 1/4 and 1/8 scales blur the 8x8 block
    edges away, so blockiness could no longer tell quality 10 from 95
    (bench/extract/results.md). Greyscale JPEGs (every MRI JPEG) are decoded from
    their bytes by libjpeg-turbo through simplejpeg, without PIL's per-file Python
    set-up: the same library and IDCT as PIL, so the same pixels. Anything else,
    or a JPEG simplejpeg declines, goes through PIL. ``fmt`` (the manifest's
    format) skips sniffing for DICOM.
    """
    source = _open_local_or_remote(uri)
    if fmt == "DICOM" or (fmt is None and _sniff_dicom(source, uri)):
        arr, meta = decode_dicom(source)
        return _working(_grey(arr), meta, working_size)
    if fmt in ("JPEG", None):
        data = _read_all(source)
        fast = _decode_grey_jpeg(data)
        if fast is not None:
            grey, meta = fast
            return _working(grey, meta, working_size)
        source = io.BytesIO(data)
    # Ingest already enforced max_pixels, so PIL's own bomb warning is not needed.
    with Image.open(source) as im:
        quality = None
        if im.format == "JPEG":
            quality = _cached_quality(tuple(getattr(im, "quantization", {}).get(0, ())))
        meta = ImageMeta(str(im.format), im.width, im.height, mode_channels(im.mode),
                         mode_bit_depth(im.mode), im.mode, quality)  # fmt: skip
        im.load()
        return _working(_grey(pil_to_array(im)), meta, working_size)


def _read_all(source: str | IO[bytes]) -> bytes:
    if isinstance(source, str):
        with open(source, "rb") as fh:
            return fh.read()
    with source:
        return source.read()


def decode_grey_jpeg(data: bytes, draft: int = 0) -> tuple[U8, int, int] | None:
    """A greyscale JPEG decoded by libjpeg-turbo (simplejpeg): ``(pixels, width, height)``.

    The same library and accurate IDCT as PIL, so the same pixels (tested), without
    PIL's per-file Python work and with the GIL released. With ``draft``, decodes at
    the reduced scale PIL's ``draft("L", (draft, draft))`` picks (1/8, 1/4, 1/2 or 1).
    Width and height are the file's own. None for anything else, or for a file
    simplejpeg refuses (corrupt, 12-bit, arithmetic coding): PIL decides, and words
    the error.
    """
    import simplejpeg

    if not data.startswith(b"\xff\xd8"):
        return None
    try:
        height, width, colour, _ = simplejpeg.decode_jpeg_header(data)
        if colour != "Gray":
            return None
        ratio = min(width // draft, height // draft) if draft else 1
        scale = next((s for s in (8, 4, 2) if ratio >= s), 1)
        shape = (-(-height // scale), -(-width // scale))
        pixels = simplejpeg.decode_jpeg(
            data, colorspace="GRAY", min_height=shape[0], min_width=shape[1]
        )[..., 0]
    except ValueError:
        return None
    return (pixels, width, height) if pixels.shape == shape else None


def _decode_grey_jpeg(data: bytes) -> tuple[U8, ImageMeta] | None:
    decoded = decode_grey_jpeg(data)
    if decoded is None:
        return None
    pixels, width, height = decoded
    quality = _dqt_quality(_luma_table(data))
    return pixels, ImageMeta("JPEG", width, height, 1, 8, "L", quality)


# Position in the 8x8 block (row-major) of the k-th coefficient a DQT segment stores.
_ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip


def _luma_table(data: bytes) -> bytes:
    """The stored bytes of quantisation table 0 (64, or 128 for 16-bit), b"" if none.

    Walks the marker segments up to the first scan; every table comes before it.
    """
    pos, end = 2, len(data)
    while pos + 4 <= end and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan
            break
        length = (data[pos + 2] << 8) | data[pos + 3]
        if marker == 0xDB:
            seg, i = data[pos + 4 : pos + 2 + length], 0
            while i < len(seg):
                n = 128 if seg[i] >> 4 else 64
                if seg[i] & 15 == 0:
                    raw = seg[i + 1 : i + 1 + n]
                    return raw if len(raw) == n else b""
                i += 1 + n
        pos += 2 + length
    return b""


@functools.lru_cache(maxsize=256)
def _dqt_quality(raw: bytes) -> float | None:
    """:func:`jpeg_quality` of a stored table (zig-zag order, as in the file)."""
    if len(raw) not in (64, 128):
        return None
    stored = struct.unpack(">64H", raw) if len(raw) == 128 else tuple(raw)
    natural = [0] * 64
    for k, value in enumerate(stored):
        natural[_ZIGZAG[k]] = value
    return jpeg_quality({0: natural})


def _working(grey: U8, meta: ImageMeta, working_size: int) -> WorkingImage:
    """Working image and its histogram, plus the blockiness crop (a view, no copy)."""
    from driftloop.features import kernels

    pixels = _shrink(np.ascontiguousarray(grey), working_size)
    x0, y0, x1, y1 = crop_box(grey.shape[1], grey.shape[0])
    return WorkingImage(pixels, grey[y0:y1, x0:x1], meta, kernels.histogram(pixels))


def _sniff_dicom(source: str | IO[bytes], uri: str) -> bool:
    if isinstance(source, str):
        with open(source, "rb") as fh:
            head = fh.read(DICOM_MAGIC_OFFSET + 4)
    else:
        head = source.read(DICOM_MAGIC_OFFSET + 4)
        source.seek(0)
    return is_dicom(head, uri)


@functools.lru_cache(maxsize=256)
def _cached_quality(table: tuple[int, ...]) -> float | None:
    # Files from one encoder share tables: estimate once per distinct table.
    return jpeg_quality({0: table}) if table else None
