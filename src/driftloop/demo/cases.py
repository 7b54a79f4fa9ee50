"""One synthetic patient: slice choice, warped head, lesion, acquisition."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from driftloop.constants import CLASSES
from driftloop.demo.anatomy import SELLAR_Z, Z_RANGE, acquire, render_head
from driftloop.demo.lesions import add_lesion
from driftloop.errors import InputError

__all__ = ["pick_slice", "render_case"]

# Share of non-pituitary cases drawn from the skull-base slices as well, so the
# slice level (and with it the head's area and mean brightness) does not give
# the pituitary class away.
_LOW_SHARE = 0.4
_LOW_TOP = 62


def pick_slice(cls: str, rng: np.random.Generator) -> int:
    """Template slice index for a case of class ``cls``."""
    if cls == "pituitary":
        return int(rng.integers(SELLAR_Z[0], SELLAR_Z[1] + 1))
    if rng.random() < _LOW_SHARE:
        return int(rng.integers(Z_RANGE[0], _LOW_TOP + 1))
    return int(rng.integers(_LOW_TOP, Z_RANGE[1] + 1))


def render_case(
    cls: str, rng: np.random.Generator, image_size: int = 256
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Render one greyscale slice of class ``cls``; returns (image uint8, tumour mask)."""
    if cls not in CLASSES:
        raise InputError(f"unknown class {cls!r}; use one of {', '.join(CLASSES)}")
    if image_size < 32:
        raise InputError(f"image_size {image_size} is too small; use at least 32 (default 256)")
    head = render_head(rng, image_size, pick_slice(cls, rng))
    mask = add_lesion(cls, head, rng)
    # Every class gets the same point-spread, so sharpness says nothing about the label.
    head.image[:] = ndimage.gaussian_filter(head.image, 0.55 * image_size / 256.0)
    return acquire(head.image, rng), mask
