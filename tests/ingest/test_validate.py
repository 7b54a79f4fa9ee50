"""Validation: every bad kind gets its own stable reason; nothing raises."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from ingest_images import bomb_bmp, dicom_bytes, jpeg_bytes, phantom, png_bytes
from PIL import Image

from driftloop.config import IngestSettings
from driftloop.ingest import REASON_CODES, validate_bytes

RULES = IngestSettings()


def test_truncated_jpeg_is_quarantined_as_truncated():
    v = validate_bytes(jpeg_bytes(phantom())[:-200], "a.jpg", RULES)
    assert v.reason_code == "truncated" and "truncated" in (v.reason or "")


def test_jpeg_missing_only_its_end_marker_is_truncated():
    assert validate_bytes(jpeg_bytes(phantom())[:-2], "a.jpg", RULES).reason_code == "truncated"


def test_truncated_png_is_quarantined_as_truncated():
    assert validate_bytes(png_bytes(phantom())[:-40], "a.png", RULES).reason_code == "truncated"


def test_zero_byte_file_is_empty_file():
    v = validate_bytes(b"", "z.jpg", RULES)
    assert v.reason_code == "empty_file" and "0 bytes" in (v.reason or "")


def test_text_named_jpg_is_not_an_image():
    v = validate_bytes(b"hello, not a picture\n", "x.jpg", RULES)
    assert v.reason_code == "not_an_image"


def test_huge_dimension_header_is_rejected_before_decoding():
    v = validate_bytes(bomb_bmp(), "bomb.bmp", RULES)
    assert v.reason_code == "too_large"


def test_max_pixels_guard_names_the_pixel_count():
    v = validate_bytes(png_bytes(phantom(64)), "p.png", IngestSettings(max_pixels=1000))
    assert (
        v.reason_code == "too_large" and "4096" in (v.reason or "") and "1000" in (v.reason or "")
    )


def test_file_over_max_file_bytes_is_too_large():
    data = png_bytes(phantom(64))
    v = validate_bytes(data, "p.png", IngestSettings(max_file_bytes=100))
    assert v.reason_code == "too_large" and str(len(data)) in (v.reason or "")


def test_image_below_min_side_is_too_small():
    v = validate_bytes(png_bytes(phantom(16)), "s.png", RULES)
    assert v.reason_code == "too_small" and "16x16" in (v.reason or "")


def test_gif_is_unsupported_format():
    buf = io.BytesIO()
    Image.fromarray(phantom(64)).save(buf, "GIF")
    v = validate_bytes(buf.getvalue(), "g.gif", RULES)
    assert v.reason_code == "unsupported_format" and "GIF" in (v.reason or "")


def test_rgb_image_is_accepted_not_quarantined():
    rgb = np.stack([phantom()] * 3, axis=-1)
    v = validate_bytes(jpeg_bytes(rgb), "c.jpg", RULES)
    assert v.accepted and v.mode == "RGB"


def test_sixteen_bit_png_is_accepted():
    buf = io.BytesIO()
    Image.fromarray(phantom().astype(np.uint16) * 200).save(buf, "PNG")
    v = validate_bytes(buf.getvalue(), "d.png", RULES)
    assert v.accepted and v.mode.startswith("I")


def test_dicom_without_pixel_data_is_dicom_no_pixels():
    v = validate_bytes(dicom_bytes(phantom(), with_pixels=False), "n.dcm", RULES)
    assert v.reason_code == "dicom_no_pixels"


def test_dicom_with_pixels_is_accepted():
    v = validate_bytes(dicom_bytes(phantom(64)), "ok.dcm", RULES)
    assert v.accepted and (v.format, v.width, v.height) == ("DICOM", 64, 64)


def test_dicom_with_cut_pixel_data_is_quarantined():
    v = validate_bytes(dicom_bytes(phantom(64))[:-500], "cut.dcm", RULES)
    assert not v.accepted and v.reason_code in ("truncated", "decode_error")


def test_text_named_dcm_is_not_an_image():
    assert validate_bytes(b"plain words", "x.dcm", RULES).reason_code == "not_an_image"


def _check_outcome(data: bytes, name: str) -> None:
    from driftloop.features.compute import image_features

    v = validate_bytes(data, name, RULES)
    if v.accepted:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            row = image_features(str(path), 64, len(data), v.format)
        assert row["width"] == v.width
    else:
        assert v.reason_code in REASON_CODES and v.reason


@hsettings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["x.jpg", "x.png", "x.dcm", "x.bin"]))
def test_random_bytes_are_accepted_or_quarantined_never_raise(data, name):
    _check_outcome(data, name)


_VALID = {
    "x.jpg": jpeg_bytes(phantom(48)),
    "x.png": png_bytes(phantom(48)),
    "x.dcm": dicom_bytes(phantom(48)),
}


@hsettings(max_examples=80, deadline=None)
@given(
    st.sampled_from(sorted(_VALID)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    st.integers(0, 10_000),
)
def test_mutated_valid_files_are_accepted_or_quarantined(name, flips, cut):
    data = bytearray(_VALID[name])
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut:
        data = data[: max(0, len(data) - cut % len(data))]
    _check_outcome(bytes(data), name)
