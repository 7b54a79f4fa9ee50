"""Lesion features from the model's saliency map, for images predicted as a tumour.

Rule (docs/ingest.md): the head mask is the grey image above Otsu's threshold
with holes filled; the lesion is the largest connected region of head pixels
whose saliency is at least Otsu's threshold of the saliency values inside the
head (and at least 0.5, so a flat, weak map gives no lesion). Area is a fraction
of the head's area; centroid x/y are fractions of width/height; eccentricity and
solidity come from ``skimage.measure.regionprops``. No lesion -> NaN.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["LESION_COLUMNS", "NAN_LESION", "head_mask", "lesion_features"]

LESION_COLUMNS: Final = (
    "lesion_area_fraction",
    "lesion_centroid_x",
    "lesion_centroid_y",
    "lesion_eccentricity",
    "lesion_solidity",
)
NAN_LESION: Final = {c: float("nan") for c in LESION_COLUMNS}
MIN_SALIENCY: Final = 0.5


def head_mask(grey: NDArray[Any]) -> NDArray[np.bool_]:
    """Pixels above Otsu's threshold, holes filled (the head, not the background)."""
    from scipy.ndimage import binary_fill_holes

    from driftloop.features.compute import otsu_threshold

    g = np.asarray(grey, dtype=np.uint8)
    hist = np.bincount(g.ravel(), minlength=256).astype(np.float64)
    mask = g > otsu_threshold(hist)
    return np.asarray(binary_fill_holes(mask), dtype=bool)


def lesion_features(grey: NDArray[Any], saliency: NDArray[Any]) -> dict[str, float]:
    """Area fraction, centroid, eccentricity and solidity of the salient lesion."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops
    from skimage.transform import resize

    sal = np.asarray(saliency, dtype=np.float64)
    g = np.asarray(grey)
    if g.ndim == 3:
        g = g.mean(axis=2)
    if g.shape != sal.shape:
        g = resize(g, sal.shape, preserve_range=True, anti_aliasing=True)  # type: ignore[no-untyped-call]
    head = head_mask(g)
    inside = sal[head]
    if inside.size == 0 or float(inside.max() - inside.min()) <= 1e-6:
        return dict(NAN_LESION)
    otsu = float(threshold_otsu(inside))  # type: ignore[no-untyped-call]
    threshold = max(otsu, MIN_SALIENCY)
    labels = label(head & (sal >= threshold))  # type: ignore[no-untyped-call]
    regions = regionprops(labels)  # type: ignore[no-untyped-call]
    if not regions:
        return dict(NAN_LESION)
    region = max(regions, key=lambda r: r.area)
    h, w = sal.shape
    cy, cx = region.centroid
    return {
        "lesion_area_fraction": float(region.area) / float(head.sum()),
        "lesion_centroid_x": (cx + 0.5) / w,
        "lesion_centroid_y": (cy + 0.5) / h,
        "lesion_eccentricity": float(region.eccentricity),
        "lesion_solidity": float(region.solidity),
    }
