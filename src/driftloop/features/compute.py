"""Intensity, quality and anatomy features of one grey image.

Everything size-independent is computed on the working image (a fixed
``working_size`` square), so a 256 and a 1024 pixel scan of the same head give
the same numbers. Intensity statistics come from the 256-bin histogram, which
is exact for uint8 and far cheaper than sorting pixels. The loops themselves
are compiled (:mod:`driftloop.features.kernels`); this module names the results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.features import kernels
from driftloop.features.image import WorkingImage, load_working

__all__ = [
    "anatomy_features",
    "blockiness",
    "features_of",
    "image_features",
    "intensity_features",
    "noise_sigma",
    "otsu_threshold",
    "sharpness",
    "texture_features",
]

# The order of kernels.histogram_features' result, up to Otsu's threshold (last).
_INTENSITY = ("mean", "std", "min", "max", "p1", "p50", "p99", "entropy", "skewness",
              "kurtosis", "clipped_dark", "clipped_bright")  # fmt: skip


def _as_u8(x: NDArray[Any]) -> NDArray[np.uint8]:
    arr = np.asarray(x)
    if arr.dtype != np.uint8 or arr.ndim != 2:
        raise TypeError(
            f"expected a 2-D uint8 grey image, got {arr.dtype} with shape {arr.shape}; "
            "convert it with driftloop.features.image.to_uint8 first"
        )
    return arr


def _hist(hist: NDArray[Any]) -> NDArray[np.float64]:
    out = np.ascontiguousarray(hist, dtype=np.float64)
    if out.shape != (256,) or not out.sum() > 0:
        raise ValueError(f"expected a non-empty 256-bin histogram, got shape {out.shape}")
    return out


def _intensity(stats: tuple[float, ...]) -> dict[str, float]:
    row = dict(zip(_INTENSITY, stats, strict=False))
    row["rms_contrast"] = row["std"] / 255.0
    return row


def intensity_features(hist: NDArray[Any]) -> dict[str, float]:
    """Brightness, spread and shape of a 256-bin grey-level histogram.

    Percentile q is the smallest level whose cumulative share reaches q;
    skewness and excess kurtosis are population moments (0 for a flat image).
    """
    return _intensity(kernels.histogram_features(_hist(hist)))


def otsu_threshold(hist: NDArray[Any]) -> int:
    """Otsu's threshold from a 256-bin histogram: foreground is ``value > t``."""
    return int(kernels.histogram_features(_hist(hist))[-1])


def texture_features(x: NDArray[Any], period: int) -> dict[str, float]:
    """Sharpness, noise and (when ``period`` applies to ``x``) blockiness.

    Sharpness is the variance of the 4-neighbour Laplacian; noise is Immerkaer's
    estimate sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I * M| with M = [1 -2 1]ᵀ[1 -2 1];
    blockiness is the mean absolute step across ``period``-pixel block edges over
    the mean step within blocks, 0.01 added to both so a flat image reads 1.0
    (NaN when blocks are under 2 pixels or fewer than 2 fit).
    """
    pixels = _as_u8(x)
    sharp, noise = kernels.texture(pixels)
    return {"sharpness": sharp, "noise": noise, "blockiness": kernels.blockiness(pixels, period)}


def sharpness(x: NDArray[Any]) -> float:
    """Variance of the 4-neighbour Laplacian (higher = sharper)."""
    return float(kernels.texture(_as_u8(x))[0])


def noise_sigma(x: NDArray[Any]) -> float:
    """Immerkaer's fast noise estimate (grey levels)."""
    return float(kernels.texture(_as_u8(x))[1])


def blockiness(grey: NDArray[Any], period: int) -> float:
    """Mean absolute step across ``period``-pixel block edges / within blocks (1 = none)."""
    return float(kernels.blockiness(_as_u8(grey), period))


def anatomy_features(pixels: NDArray[np.uint8], threshold: int) -> dict[str, float]:
    """Foreground (head: pixels above ``threshold``) share, centroid and bounding box.

    All as fractions of the image's width and height; NaN centroid when empty.
    """
    x = _as_u8(pixels)
    h, w = x.shape
    n, sum_x, sum_y, x0, x1, y0, y1 = kernels.foreground(x, threshold)
    if n == 0:
        nan = float("nan")
        return {"foreground_fraction": 0.0, "centroid_x": nan, "centroid_y": nan,
                "bbox_w": 0.0, "bbox_h": 0.0}  # fmt: skip
    return {
        "foreground_fraction": n / float(h * w),
        "centroid_x": sum_x / n / w,
        "centroid_y": sum_y / n / h,
        "bbox_w": float(x1 - x0 + 1) / w,
        "bbox_h": float(y1 - y0 + 1) / h,
    }


def features_of(work: WorkingImage, file_size: int | None) -> dict[str, Any]:
    """Every image feature (basic, intensity, quality, anatomy) of a decoded image."""
    meta = work.meta
    stats = kernels.histogram_features(work.histogram)
    row: dict[str, Any] = {
        "width": meta.width,
        "height": meta.height,
        "aspect_ratio": meta.width / meta.height if meta.height else float("nan"),
        "channels": meta.channels,
        "bit_depth": meta.bit_depth,
        "file_size": file_size,
        "format": meta.format,
    }
    row.update(_intensity(stats))
    row["sharpness"], row["noise"] = kernels.texture(work.pixels)
    row["jpeg_quality"] = meta.jpeg_quality if meta.jpeg_quality is not None else float("nan")
    # JPEG blocks live on the full-resolution 8x8 grid, not on the working image.
    row["blockiness"] = kernels.blockiness(work.block_crop, 8)
    row.update(anatomy_features(work.pixels, int(stats[-1])))
    return row


def image_features(
    uri: str, working_size: int, file_size: int | None = None, fmt: str | None = None
) -> dict[str, Any]:
    """Decode ``uri`` at the working resolution and compute every image feature."""
    return features_of(load_working(uri, working_size, fmt), file_size)
