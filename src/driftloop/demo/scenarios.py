"""Drift scenarios: what a production day carries, and how one image is changed by it.

``apply(image, scenario, strength, rng)`` changes one 8-bit greyscale image and
returns a new one of the same shape. Strengths are in natural units (see
``SCENARIOS``); the drift benchmark reuses these functions to make shifted
copies of reference images. ``class_prior`` and ``dirty``/``dicom`` act on the
day as a whole (label mix, file kinds), not on pixels, so ``apply`` returns
the image unchanged for them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from driftloop.constants import CLASSES
from driftloop.errors import InputError

__all__ = [
    "DAY_SCHEDULE",
    "SCENARIOS",
    "Scenario",
    "apply",
    "class_weights",
    "decode",
    "encode_jpeg",
    "jpeg_roundtrip",
    "resample",
]

Gray = NDArray[np.uint8]

# JPEG quality of every normal image (public sets are saved around 90-95).
BASE_QUALITY = 92


@dataclass(frozen=True)
class Scenario:
    """A named change with its default (demo) strength and the unit that strength is in."""

    name: str
    strength: float
    unit: str
    description: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("clean", 0.0, "-", "same distribution as the reference set"),
        Scenario("brightness", 1.15, "factor", "intensities multiplied by the factor"),
        Scenario(
            "contrast", 0.8, "factor", "deviation from the image mean multiplied by the factor"
        ),
        Scenario("gamma", 1.3, "exponent", "intensities raised to the power (on 0..1)"),
        Scenario(
            "scanner_change",
            1.0,
            "0..1",
            "new scanner: gamma 1-0.15s, contrast x(1-0.2s), brightness x(1+0.2s)",
        ),
        Scenario("noise", 12.0, "grey levels", "Rician noise of this sigma added"),
        Scenario(
            "blur",
            2.0,
            "pixels",
            "defocus (Gaussian sigma) on even images, motion blur of 2s+1 px on odd",
        ),
        Scenario("motion_blur", 5.0, "pixels", "horizontal motion blur over this many pixels"),
        Scenario(
            "resolution",
            0.5,
            "factor",
            "downscaled by the factor and back up; every other file written at 3/4 of the size",
        ),
        Scenario("jpeg_quality", 30.0, "quality", "saved at this JPEG quality instead of 92"),
        Scenario(
            "class_prior",
            3.0,
            "odds factor",
            "odds of a tumour vs no tumour multiplied by the factor",
        ),
        Scenario(
            "artefact",
            18.0,
            "grey levels",
            "ring (even images) or stripe (odd) artefact of this amplitude",
        ),
        Scenario("dirty", 0.0, "-", "clean images mixed with every kind of bad file"),
        Scenario(
            "dicom", 0.0, "-", "clean images delivered as 16-bit DICOM (a format change, not drift)"
        ),
    )
}

# The production calendar after the clean days; later days are clean again.
DAY_SCHEDULE: tuple[str, ...] = (
    "scanner_change",
    "noise",
    "blur",
    "resolution",
    "jpeg_quality",
    "class_prior",
    "artefact",
    "dirty",
    "dicom",
)
CLEAN_DAYS = 4

# The period (pixels at 256) of the stripe artefact, and of the ring artefact.
STRIPE_PERIOD = 6.0
RING_PERIOD = 7.0


def _as_gray(image: Gray) -> NDArray[np.float32]:
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InputError(
            f"expected a 2-D greyscale image, got shape {arr.shape}; convert to 'L' first"
        )
    return arr.astype(np.float32)


def _to_uint8(arr: NDArray[np.floating]) -> Gray:
    out: Gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return out


def encode_jpeg(image: Gray, quality: int = BASE_QUALITY) -> bytes:
    """Greyscale JPEG bytes at ``quality`` (deterministic for the same input)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L").save(
        buf, format="JPEG", quality=int(quality)
    )
    return buf.getvalue()


def decode(data: bytes) -> Gray:
    """Decode image bytes to 8-bit greyscale."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("L"))


def jpeg_roundtrip(image: Gray, quality: int) -> Gray:
    """The image as it comes back after a JPEG save at ``quality``."""
    return decode(encode_jpeg(image, quality))


def resample(image: Gray, size: tuple[int, int]) -> Gray:
    """Resize to (height, width) with bicubic interpolation."""
    height, width = size
    return np.asarray(
        Image.fromarray(image, mode="L").resize((width, height), Image.Resampling.BICUBIC)
    )


def _scanner(arr: NDArray[np.float32], s: float) -> NDArray[np.float32]:
    x = np.clip(arr / 255.0, 0.0, 1.0) ** (1.0 - 0.15 * s)
    mean = float(x.mean())
    x = (x - mean) * (1.0 - 0.2 * s) + mean
    out: NDArray[np.float32] = x * (1.0 + 0.2 * s) * 255.0
    return out


def _rician(
    arr: NDArray[np.float32], sigma: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    real = arr + rng.standard_normal(arr.shape, dtype=np.float32) * sigma
    imag = rng.standard_normal(arr.shape, dtype=np.float32) * sigma
    # Keep the mean of the background close to before: Rician noise on pure
    # air has mean sigma*sqrt(pi/2); don't let that swamp the measured change.
    out: NDArray[np.float32] = np.sqrt(real * real + imag * imag)
    return out


def _motion(arr: NDArray[np.float32], length: float) -> NDArray[np.float32]:
    size = max(1, round(length))
    out: NDArray[np.float32] = ndimage.uniform_filter1d(arr, size=size, axis=1, mode="nearest")
    return out


def _artefact(
    arr: NDArray[np.float32], amplitude: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    n_rows, n_cols = arr.shape
    scale = n_cols / 256.0
    rows, cols = np.mgrid[:n_rows, :n_cols].astype(np.float32)
    head = ndimage.gaussian_filter((arr > 25).astype(np.float32), 3.0)
    if rng.random() < 0.5:
        # Gibbs-like ringing: concentric rings, strongest inside the head.
        cy, cx = n_rows / 2.0, n_cols / 2.0
        radius = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2)
        pattern = np.cos(2 * np.pi * radius / (RING_PERIOD * scale)) * (0.4 + 0.6 * head)
    else:
        # RF zipper/stripe: vertical stripes at a fixed spatial frequency across the FOV.
        pattern = np.cos(2 * np.pi * cols / (STRIPE_PERIOD * scale) + rng.uniform(0, 2 * np.pi))
    out: NDArray[np.float32] = arr + amplitude * pattern
    return out


def apply(image: Gray, scenario: str, strength: float, rng: np.random.Generator) -> Gray:
    """Apply one content scenario at ``strength`` to an 8-bit greyscale image (same shape back)."""
    arr = _as_gray(image)
    if scenario not in SCENARIOS:
        raise InputError(f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}")
    if scenario in ("clean", "class_prior", "dirty", "dicom"):
        return np.asarray(image, dtype=np.uint8).copy()
    if scenario == "brightness":
        return _to_uint8(arr * strength)
    if scenario == "contrast":
        mean = float(arr.mean())
        return _to_uint8((arr - mean) * strength + mean)
    if scenario == "gamma":
        return _to_uint8(255.0 * (arr / 255.0) ** strength)
    if scenario == "scanner_change":
        return _to_uint8(_scanner(arr, strength))
    if scenario == "noise":
        return _to_uint8(_rician(arr, strength, rng))
    if scenario == "blur":
        if rng.random() < 0.5:
            return _to_uint8(ndimage.gaussian_filter(arr, strength))
        return _to_uint8(_motion(arr, 2 * strength + 1))
    if scenario == "motion_blur":
        return _to_uint8(_motion(arr, strength))
    if scenario == "resolution":
        if not 0.0 < strength <= 1.0:
            raise InputError(
                f"resolution strength {strength} must be in (0, 1]; it is the downscale factor"
            )
        h, w = arr.shape
        small = resample(image, (max(1, round(h * strength)), max(1, round(w * strength))))
        return resample(small, (h, w))
    if scenario == "jpeg_quality":
        if not 1 <= strength <= 100:
            raise InputError(f"jpeg_quality strength {strength} must be a JPEG quality in 1..100")
        return jpeg_roundtrip(np.asarray(image, dtype=np.uint8), int(strength))
    # artefact
    return _to_uint8(_artefact(arr, strength, rng))


def class_weights(scenario: str, strength: float) -> dict[str, float]:
    """Class probabilities for a day: balanced, or tumour odds x strength for ``class_prior``."""
    tumours = [c for c in CLASSES if c != "notumor"]
    if scenario != "class_prior":
        return {c: 1.0 / len(CLASSES) for c in CLASSES}
    if strength <= 0:
        raise InputError(
            f"class_prior strength {strength} must be > 0 (odds factor; 1 = unchanged)"
        )
    odds = strength * len(tumours)  # balanced odds of any tumour vs none is 3:1
    p_tumour = odds / (1.0 + odds)
    weights = {c: p_tumour / len(tumours) for c in tumours}
    weights["notumor"] = 1.0 - p_tumour
    return {c: weights[c] for c in CLASSES}
