"""Small hand-made images (PIL, pydicom) shared by the ingest and feature tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def phantom(size: int = 96, seed: int = 0) -> np.ndarray:
    """A bright disc ("head") on black with mild texture: a tiny MRI stand-in."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    r = size * 0.38
    head = ((xx - size / 2) ** 2 + (yy - size / 2) ** 2) < r * r
    img = head * (110.0 + 30 * np.sin(xx / 5.0)) + rng.normal(0, 2, (size, size)) * head
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg_bytes(arr: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def dicom_bytes(
    stored: np.ndarray,
    *,
    slope: float | None = None,
    intercept: float | None = None,
    window: tuple[float, float] | None = None,
    with_pixels: bool = True,
) -> bytes:
    """A minimal MR DICOM Part 10 file holding ``stored`` (uint8 or uint16)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("x.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    bits = stored.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept or 0.0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if with_pixels:
        ds.PixelData = stored.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def bomb_bmp() -> bytes:
    """A BMP whose header claims 60000 x 60000 pixels but holds a 40 x 40 image."""
    buf = io.BytesIO()
    Image.fromarray(phantom(40)).save(buf, "BMP")
    data = bytearray(buf.getvalue())
    data[18:22] = (60000).to_bytes(4, "little")
    data[22:26] = (60000).to_bytes(4, "little")
    return bytes(data)


@pytest.fixture
def dirty_dir(tmp_path: Path) -> Path:
    """One file per bad kind of the demo's dirty day, plus good ones."""
    src = tmp_path / "source"
    (src / "sub").mkdir(parents=True)
    good = jpeg_bytes(phantom(96, 1))
    (src / "good_a.jpg").write_bytes(good)
    (src / "sub" / "good_b.png").write_bytes(png_bytes(phantom(80, 2)))
    (src / "z_dup_of_a.jpg").write_bytes(good)
    (src / "truncated.jpg").write_bytes(jpeg_bytes(phantom(96, 3))[:-300])
    (src / "zero.jpg").write_bytes(b"")
    (src / "text.jpg").write_bytes(b"this is not an image, it is a note\n")
    (src / "bomb.bmp").write_bytes(bomb_bmp())
    rgb = np.stack([phantom(96, 4)] * 3, axis=-1)
    (src / "colour.jpg").write_bytes(jpeg_bytes(rgb))
    (src / "nopixels.dcm").write_bytes(dicom_bytes(phantom(64), with_pixels=False))
    (src / "scan.dcm").write_bytes(dicom_bytes(phantom(64, 5)))
    return src
