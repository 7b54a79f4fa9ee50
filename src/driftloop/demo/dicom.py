"""DICOM files for the format-change day (and the pixel-less one for the dirty day).

The images are the same 8-bit content as the JPEG days, stored as 16-bit
unsigned MR pixels with a rescale slope/intercept and a window that maps the
modality values back onto the original 0..255 display range. UIDs derive from
the caller's key, so files are byte-identical for the same seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["RESCALE_INTERCEPT", "RESCALE_SLOPE", "STORED_PER_GREY", "write_dicom"]

# stored = grey * STORED_PER_GREY (12 significant bits);
# modality = stored * RESCALE_SLOPE + RESCALE_INTERCEPT.
STORED_PER_GREY = 16
RESCALE_SLOPE = 0.25
RESCALE_INTERCEPT = -100.0
_UID_PREFIX = "1.2.826.0.1.3680043.10.1337."


def _window() -> tuple[float, float]:
    low = 0 * STORED_PER_GREY * RESCALE_SLOPE + RESCALE_INTERCEPT
    high = 255 * STORED_PER_GREY * RESCALE_SLOPE + RESCALE_INTERCEPT
    return (low + high) / 2.0, high - low


def write_dicom(
    path: Path, image: NDArray[np.uint8] | None, key: str, *, shape: tuple[int, int] = (256, 256)
) -> None:
    """Write an MR DICOM file of ``image``; ``image=None`` writes a header without pixel data."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid

    sop_uid = generate_uid(prefix=_UID_PREFIX, entropy_srcs=["sop", key])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(_UID_PREFIX + "1")
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = generate_uid(prefix=_UID_PREFIX, entropy_srcs=["study", key])
    ds.SeriesInstanceUID = generate_uid(prefix=_UID_PREFIX, entropy_srcs=["series", key])
    ds.Modality = "MR"
    ds.PatientName = "Synthetic^Demo"
    ds.PatientID = "DEMO-" + sop_uid[-8:]
    ds.StudyDate = "20261101"
    ds.SeriesDescription = "AX T1 POST (synthetic, driftloop demo)"
    ds.Manufacturer = "driftloop-synthetic"
    rows, cols = image.shape if image is not None else shape
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [0.92, 0.92]
    ds.SliceThickness = 5.0
    ds.RescaleSlope = RESCALE_SLOPE
    ds.RescaleIntercept = RESCALE_INTERCEPT
    ds.RescaleType = "US"
    center, width = _window()
    ds.WindowCenter = center
    ds.WindowWidth = width
    if image is not None:
        stored = image.astype(np.uint16) * STORED_PER_GREY
        ds.PixelData = stored.astype("<u2").tobytes()
    ds.save_as(str(path), enforce_file_format=True)
