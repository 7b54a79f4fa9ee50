"""Intensity, quality and anatomy features of one grey image (pure numpy).

Everything size-independent is computed on the working image (a fixed
``working_size`` square), so a 256 and a 1024 pixel scan of the same head give
the same numbers. Intensity statistics come from the 256-bin histogram, which
is exact for uint8 and far cheaper than sorting pixels.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.features.image import WorkingImage, load_working

__all__ = [
    "anatomy_features",
    "blockiness",
    "image_features",
    "intensity_features",
    "noise_sigma",
    "otsu_threshold",
    "sharpness",
    "texture_features",
]

_LEVELS = np.arange(256, dtype=np.float64)
_NOISE_SCALE = math.sqrt(math.pi / 2.0) / 6.0


# Rows: level^1..^4, so one matrix product gives the four raw moments.
_POWERS = np.stack([_LEVELS, _LEVELS**2, _LEVELS**3, _LEVELS**4])
_QUANTILES = np.array([0.01, 0.50, 0.99]) - 1e-12


def intensity_features(hist: NDArray[Any], cum: NDArray[Any] | None = None) -> dict[str, float]:
    """Brightness, spread and shape of the grey-level histogram (256 bins).

    ``cum`` is the cumulative share of ``hist`` when the caller already has it.
    """
    p = hist / float(hist.sum())
    if cum is None:
        cum = np.cumsum(p)
    m1, m2, m3, m4 = (float(v) for v in _POWERS @ p)
    var = max(m2 - m1 * m1, 0.0)
    std = math.sqrt(var)
    mu3 = m3 - 3 * m1 * m2 + 2 * m1**3
    mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
    nz = np.flatnonzero(hist)
    # Smallest grey level whose cumulative share reaches q (the "lower" percentile).
    p1, p50, p99 = np.searchsorted(cum, _QUANTILES).tolist()
    pos = p[nz]
    return {
        "mean": m1,
        "std": std,
        "rms_contrast": std / 255.0,
        "min": float(nz[0]),
        "max": float(nz[-1]),
        "p1": float(p1),
        "p50": float(p50),
        "p99": float(p99),
        "entropy": float(-(pos @ np.log2(pos))),
        "skewness": mu3 / std**3 if std > 1e-6 else 0.0,
        "kurtosis": mu4 / var**2 - 3.0 if var > 1e-6 else 0.0,
        "clipped_dark": float(cum[2]),
        "clipped_bright": float(1.0 - cum[252]),
    }


@functools.lru_cache(maxsize=16)
def _weights(h: int, w: int, period: int) -> dict[str, Any]:
    """0/1 float32 vectors that pick the valid entries of flat difference arrays.

    Differences are taken on the flattened image (contiguous memory: several
    times faster than 2-D slices along rows); entries that wrap from one row's
    end to the next row's start get weight 0, so BLAS dot products with these
    vectors are exact row-wise sums. Cached per (shape, period).
    """
    n = h * w
    k_h = np.arange(n - 1)
    k_v = np.arange(n - w)
    valid_h = (k_h % w) <= w - 2
    out: dict[str, Any] = {
        "inner": ((np.arange(n - 2 * w - 2) % w) <= w - 3).astype(np.float32),
        "n_inner": (h - 2) * (w - 2),
        "valid_h": valid_h.astype(np.float32),
        "ones_v": np.ones(k_v.size, dtype=np.float32),
    }
    if period >= 2 and min(h, w) >= 2 * period:
        edge_h = valid_h & ((k_h % w + 1) % period == 0)  # step k -> k+1 crosses a block edge
        edge_v = (k_v // w + 1) % period == 0
        out["edge_h"] = edge_h.astype(np.float32)
        out["edge_v"] = edge_v.astype(np.float32)
        out["n_edge"] = int(edge_h.sum() + edge_v.sum())
        out["n_within"] = int(valid_h.sum() + k_v.size) - out["n_edge"]
    return out


def texture_features(x: NDArray[Any], period: int) -> dict[str, float]:
    """Sharpness, noise and (when ``period`` applies to ``x``) blockiness, sharing differences.

    Sharpness is the variance of the 4-neighbour Laplacian; noise is Immerkaer's
    estimate sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I * M| with M = [1 -2 1]ᵀ[1 -2 1];
    blockiness is the mean absolute step across ``period``-pixel block edges over
    the mean step within blocks, 0.01 added to both so a flat image reads 1.0
    (NaN when blocks are under 2 pixels or fewer than 2 fit). Float32 is exact
    for the differences of 8-bit images; sums go through BLAS dot products.
    """
    h, w = x.shape
    if h < 3 or w < 3:
        return {"sharpness": 0.0, "noise": 0.0, "blockiness": float("nan")}
    wt = _weights(h, w, period)
    inner, n = wt["inner"], wt["n_inner"]
    f = np.asarray(x).ravel().astype(np.float32)
    dh = f[1:] - f[:-1]  # entry k: pixel k+1 minus pixel k (row-wrapping entries weighted 0)
    dv = f[w:] - f[:-w]
    d2h = dh[1:] - dh[:-1]  # f[k] - 2 f[k+1] + f[k+2]
    k = f.size - 2 * w - 2
    lap = dv[w + 1 : w + 1 + k] - dv[1 : 1 + k]  # vertical second difference ...
    lap += d2h[w : w + k]  # ... plus horizontal: the Laplacian centred on pixel k + w + 1
    mean_lap = float(lap @ inner) / n
    lap *= inner
    sharp = max(float(lap @ lap) / n - mean_lap * mean_lap, 0.0)
    m = d2h[2 * w : 2 * w + k] + d2h[:k]  # d2h second-differenced down the columns: I * M
    m -= d2h[w : w + k]
    m -= d2h[w : w + k]
    np.abs(m, out=m)
    noise = float(m @ inner) * _NOISE_SCALE / n
    block = float("nan")
    if "edge_h" in wt:
        np.abs(dh, out=dh)
        np.abs(dv, out=dv)
        across = float(dh @ wt["edge_h"]) + float(dv @ wt["edge_v"])
        within = float(dh @ wt["valid_h"]) + float(dv @ wt["ones_v"]) - across
        block = (across / wt["n_edge"] + 0.01) / (within / wt["n_within"] + 0.01)
    return {"sharpness": sharp, "noise": noise, "blockiness": block}


def sharpness(x: NDArray[Any]) -> float:
    """Variance of the 4-neighbour Laplacian (higher = sharper)."""
    return texture_features(np.asarray(x), 0)["sharpness"]


def noise_sigma(x: NDArray[Any]) -> float:
    """Immerkaer's fast noise estimate (grey levels)."""
    return texture_features(np.asarray(x), 0)["noise"]


def blockiness(grey: NDArray[Any], period: int) -> float:
    """Mean absolute step across ``period``-pixel block edges / within blocks (1 = none)."""
    return texture_features(np.asarray(grey), period)["blockiness"]


def otsu_threshold(hist: NDArray[Any], cum: NDArray[Any] | None = None) -> int:
    """Otsu's threshold from a 256-bin histogram: foreground is ``value > t``."""
    total = max(float(hist.sum()), 1.0)
    omega = np.cumsum(hist) / total if cum is None else cum
    nz = np.flatnonzero(hist)
    if nz.size < 2:
        return 0  # one grey level: no split; every non-black pixel counts as foreground
    lo, hi = int(nz[0]), int(nz[-1])
    # Only thresholds in [lo, hi) split the pixels in two; elsewhere the variance is 0.
    mu = np.cumsum(hist[: hi + 1] * _LEVELS[: hi + 1]) / total
    o, m = omega[lo:hi], mu[lo:hi]
    between = (mu[hi] * o - m) ** 2 / (o * (1.0 - o))
    return lo + int(between.argmax())


def anatomy_features(
    pixels: NDArray[np.uint8], hist: NDArray[Any], cum: NDArray[Any] | None = None
) -> dict[str, float]:
    """Foreground (head) share, centroid and bounding box, as fractions of the image."""
    h, w = pixels.shape
    mask = (pixels > otsu_threshold(hist, cum)).astype(np.float32)
    # Row and column counts as matrix-vector products (BLAS; exact: counts < 2**24).
    cols = _ones(h) @ mask
    rows = mask @ _ones(w)
    n = float(cols.sum())
    if n == 0:
        nan = float("nan")
        return {"foreground_fraction": 0.0, "centroid_x": nan, "centroid_y": nan,
                "bbox_w": 0.0, "bbox_h": 0.0}  # fmt: skip
    xs, ys = np.flatnonzero(cols), np.flatnonzero(rows)
    return {
        "foreground_fraction": n / float(h * w),
        "centroid_x": float(cols @ _centres(w)) / n / w,
        "centroid_y": float(rows @ _centres(h)) / n / h,
        "bbox_w": float(xs[-1] - xs[0] + 1) / w,
        "bbox_h": float(ys[-1] - ys[0] + 1) / h,
    }


@functools.lru_cache(maxsize=8)
def _centres(n: int) -> NDArray[np.float32]:
    return np.arange(n, dtype=np.float32) + np.float32(0.5)


@functools.lru_cache(maxsize=8)
def _ones(n: int) -> NDArray[np.float32]:
    return np.ones(n, dtype=np.float32)


def features_of(work: WorkingImage, file_size: int | None) -> dict[str, Any]:
    """Every image feature (basic, intensity, quality, anatomy) of a decoded image."""
    meta = work.meta
    hist = work.histogram
    if hist is None:
        hist = np.bincount(work.pixels.ravel(), minlength=256).astype(np.float64)
    cum = np.cumsum(hist / float(hist.sum()))  # shared by the percentiles and Otsu
    row: dict[str, Any] = {
        "width": meta.width,
        "height": meta.height,
        "aspect_ratio": meta.width / meta.height if meta.height else float("nan"),
        "channels": meta.channels,
        "bit_depth": meta.bit_depth,
        "file_size": file_size,
        "format": meta.format,
    }
    row.update(intensity_features(hist, cum))
    texture = texture_features(work.pixels, 0)
    # JPEG blocks live on the full-resolution 8x8 grid, not on the working image.
    texture["blockiness"] = blockiness(work.block_crop, 8)
    row["sharpness"] = texture["sharpness"]
    row["noise"] = texture["noise"]
    row["jpeg_quality"] = meta.jpeg_quality if meta.jpeg_quality is not None else float("nan")
    row["blockiness"] = texture["blockiness"]
    row.update(anatomy_features(work.pixels, hist, cum))
    return row


def image_features(
    uri: str, working_size: int, file_size: int | None = None, fmt: str | None = None
) -> dict[str, Any]:
    """Decode ``uri`` at the working resolution and compute every image feature."""
    return features_of(load_working(uri, working_size, fmt), file_size)
