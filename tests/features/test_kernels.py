"""The compiled feature loops against plain numpy (and scikit-image) references.

The references below are written for clarity, not speed: 2-D slices, whole-array
sums, the textbook definitions. Each kernel must agree with its reference on
random images of awkward shapes, on views that are not contiguous, and on the
edge cases (flat, empty, tiny) that the loops treat specially.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image
from skimage.filters import threshold_otsu

from driftloop.features import kernels
from driftloop.features.compute import anatomy_features, intensity_features
from driftloop.features.image import (
    _decode_grey_jpeg,
    _dqt_quality,
    _luma_table,
    jpeg_quality,
    load_working,
)

RNG = np.random.default_rng(7)
SHAPES = [(128, 128), (17, 33), (40, 41), (16, 16), (100, 64), (3, 3)]


def _random(shape: tuple[int, int]) -> np.ndarray:
    return RNG.integers(0, 256, shape).astype(np.uint8)


def _smooth(shape: tuple[int, int]) -> np.ndarray:
    """A head-like image: a bright ellipse, a gradient and mild noise."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    head = ((xx - shape[1] / 2) / (0.4 * shape[1])) ** 2 + (
        (yy - shape[0] / 2) / (0.45 * shape[0])
    ) ** 2 < 1
    img = head * (90.0 + 0.3 * xx) + RNG.normal(0, 4, shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --- references ------------------------------------------------------------------


def ref_blockiness(x: np.ndarray, period: int) -> float:
    x = x.astype(np.int64)
    h, w = x.shape
    if period < 2 or min(h, w) < 2 * period:
        return math.nan
    dh, dv = np.abs(np.diff(x, axis=1)), np.abs(np.diff(x, axis=0))
    edge_h = (np.arange(w - 1) + 1) % period == 0
    edge_v = (np.arange(h - 1) + 1) % period == 0
    across = dh[:, edge_h].sum() + dv[edge_v, :].sum()
    within = dh[:, ~edge_h].sum() + dv[~edge_v, :].sum()
    n_across = dh[:, edge_h].size + dv[edge_v, :].size
    n_within = dh[:, ~edge_h].size + dv[~edge_v, :].size
    return float((across / n_across + 0.01) / (within / n_within + 0.01))


def ref_texture(x: np.ndarray) -> tuple[float, float]:
    f = x.astype(np.float64)
    c = f[1:-1, 1:-1]
    lap = f[:-2, 1:-1] + f[2:, 1:-1] + f[1:-1, :-2] + f[1:-1, 2:] - 4 * c
    m = (
        f[:-2, :-2] - 2 * f[:-2, 1:-1] + f[:-2, 2:]
        - 2 * (f[1:-1, :-2] - 2 * c + f[1:-1, 2:])
        + f[2:, :-2] - 2 * f[2:, 1:-1] + f[2:, 2:]
    )  # fmt: skip
    noise = math.sqrt(math.pi / 2) / (6 * c.size) * np.abs(m).sum()
    return float(lap.var()), float(noise)


def ref_intensity(x: np.ndarray) -> dict[str, float]:
    v = x.astype(np.float64).ravel()
    mean, std = v.mean(), v.std()
    counts = np.bincount(x.ravel(), minlength=256)
    p = counts[counts > 0] / v.size
    cum = np.cumsum(counts) / v.size

    def pct(q: float) -> float:  # smallest level whose cumulative share reaches q
        return float(np.argmax(cum >= q - 1e-12))

    return {
        "mean": mean,
        "std": std,
        "rms_contrast": std / 255,
        "min": float(v.min()),
        "max": float(v.max()),
        "p1": pct(0.01),
        "p50": pct(0.5),
        "p99": pct(0.99),
        "entropy": float(-(p * np.log2(p)).sum()),
        "skewness": float(((v - mean) ** 3).mean() / std**3) if std > 1e-6 else 0.0,
        "kurtosis": float(((v - mean) ** 4).mean() / std**4 - 3) if std > 1e-6 else 0.0,
        "clipped_dark": float((v <= 2).mean()),
        "clipped_bright": float((v >= 253).mean()),
    }


def ref_anatomy(x: np.ndarray, t: int) -> dict[str, float]:
    mask = x > t
    h, w = x.shape
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return {"foreground_fraction": 0.0, "bbox_w": 0.0, "bbox_h": 0.0}
    return {
        "foreground_fraction": mask.mean(),
        "centroid_x": (xs + 0.5).mean() / w,
        "centroid_y": (ys + 0.5).mean() / h,
        "bbox_w": (xs.max() - xs.min() + 1) / w,
        "bbox_h": (ys.max() - ys.min() + 1) / h,
    }


# --- kernels vs references ---------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("period", [8, 5, 3, 2, 1])
def test_blockiness_matches_the_reference(shape, period):
    for img in (_random(shape), _smooth(shape)):
        got, want = kernels.blockiness(img, period), ref_blockiness(img, period)
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12)


def test_blockiness_of_a_flat_image_is_one_and_a_view_is_read_in_place():
    assert kernels.blockiness(np.full((64, 64), 77, np.uint8), 8) == pytest.approx(1.0)
    big = _smooth((300, 280))
    view = big[37:237:2, 11:211]  # strided, not contiguous
    assert not view.flags["C_CONTIGUOUS"]
    assert kernels.blockiness(view, 8) == pytest.approx(ref_blockiness(view, 8), rel=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_texture_matches_the_reference(shape):
    for img in (_random(shape), _smooth(shape)):
        sharp, noise = kernels.texture(img)
        want_sharp, want_noise = ref_texture(img)
        assert sharp == pytest.approx(want_sharp, rel=1e-9, abs=1e-9)
        assert noise == pytest.approx(want_noise, rel=1e-9, abs=1e-9)


def test_texture_of_images_under_three_pixels_is_zero():
    assert kernels.texture(np.zeros((2, 50), np.uint8)) == (0.0, 0.0)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_box_reduce_equals_pils_reduce_for_powers_of_two(factor):
    img = _random((64 * factor, 48 * factor))
    want = np.asarray(Image.fromarray(img).reduce(factor))
    np.testing.assert_array_equal(kernels.box_reduce(img, factor), want)


@pytest.mark.parametrize("factor", [3, 5, 7])
def test_box_reduce_rounds_the_exact_mean_half_up_and_drops_partial_boxes(factor):
    img = _random((10 * factor + factor - 1, 9 * factor + 1))
    h, w = img.shape[0] // factor, img.shape[1] // factor
    boxes = img[: h * factor, : w * factor].astype(np.int64).reshape(h, factor, w, factor)
    n = factor * factor
    want = (boxes.sum(axis=(1, 3)) + n // 2) // n
    np.testing.assert_array_equal(kernels.box_reduce(img, factor), want)


def test_histogram_counts_every_pixel_of_a_view():
    img = _random((101, 77))[3:, 1:70]
    np.testing.assert_array_equal(kernels.histogram(img), np.bincount(img.ravel(), minlength=256))


@pytest.mark.parametrize("shape", [(128, 128), (17, 33), (1, 1)])
def test_intensity_features_match_the_reference(shape):
    for img in (_random(shape), _smooth(shape), np.full(shape, 200, np.uint8)):
        got = intensity_features(np.bincount(img.ravel(), minlength=256))
        want = ref_intensity(img)
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


@pytest.mark.parametrize("shape", [(128, 128), (40, 41), (64, 64)])
def test_otsu_matches_scikit_image(shape):
    for img in (_random(shape), _smooth(shape)):
        hist = kernels.histogram(img)
        assert kernels.histogram_features(hist)[-1] == threshold_otsu(img)


def test_otsu_of_a_one_level_image_is_zero():
    hist = kernels.histogram(np.full((8, 8), 40, np.uint8))
    assert kernels.histogram_features(hist)[-1] == 0


@pytest.mark.parametrize("threshold", [0, 60, 254, 255])
def test_anatomy_matches_the_reference(threshold):
    img = _smooth((96, 80))
    got, want = anatomy_features(img, threshold), ref_anatomy(img, threshold)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    if threshold == 255:
        assert math.isnan(got["centroid_x"]) and got["foreground_fraction"] == 0.0


def test_non_uint8_input_is_refused_with_what_to_do():
    with pytest.raises(TypeError, match="to_uint8"):
        anatomy_features(np.zeros((8, 8)), 0)


# --- the simplejpeg fast path vs PIL --------------------------------------------


def _jpeg(img: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", **options)
    return buf.getvalue()


@pytest.mark.parametrize(
    "options",
    [{"quality": 90}, {"quality": 35, "progressive": True}, {"quality": 75, "optimize": True}],
)
def test_grey_jpeg_fast_path_gives_pils_pixels_and_quality(tmp_path, options):
    img = _smooth((512, 384))
    data = _jpeg(img, **options)
    pixels, meta = _decode_grey_jpeg(data)
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(pixels, np.asarray(im))
        assert meta.jpeg_quality == jpeg_quality(im.quantization)
    assert (meta.format, meta.width, meta.height, meta.channels, meta.mode) == (
        "JPEG", 384, 512, 1, "L"
    )  # fmt: skip


@pytest.mark.parametrize("quality", [5, 25, 50, 95, 100])
def test_quantisation_table_is_read_from_the_bytes_as_pil_reads_it(quality):
    data = _jpeg(_smooth((64, 64)), quality=quality)
    with Image.open(io.BytesIO(data)) as im:
        assert _dqt_quality(_luma_table(data)) == jpeg_quality(im.quantization)


def test_sixteen_bit_quantisation_tables_are_read_too():
    table = list(range(200, 264))  # values over 255: stored with 16-bit precision
    data = _jpeg(_smooth((64, 64)), qtables=[table])
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.quantization[0]) > 255
        assert _dqt_quality(_luma_table(data)) == jpeg_quality(im.quantization)


def test_colour_and_broken_jpegs_are_left_to_pil(tmp_path):
    colour = _jpeg(np.dstack([_smooth((64, 64))] * 3))
    assert _decode_grey_jpeg(colour) is None
    grey = _jpeg(_smooth((64, 64)))
    assert _decode_grey_jpeg(grey[: len(grey) // 2]) is None
    assert _decode_grey_jpeg(b"not a jpeg at all") is None
    path = tmp_path / "c.jpg"
    path.write_bytes(colour)
    work = load_working(str(path), 32, "JPEG")
    assert work.meta.channels == 3 and work.pixels.shape == (32, 32)


def test_fast_and_pil_paths_give_the_same_working_image(tmp_path):
    img = _smooth((512, 512))
    jpg = tmp_path / "a.jpg"
    jpg.write_bytes(_jpeg(img, quality=80))
    fast = load_working(str(jpg), 128, "JPEG")
    # The same decoded pixels saved losslessly go through PIL.
    png = tmp_path / "a.png"
    Image.open(jpg).save(png)
    slow = load_working(str(png), 128, "PNG")
    np.testing.assert_array_equal(fast.pixels, slow.pixels)
    np.testing.assert_array_equal(fast.block_crop, slow.block_crop)
    np.testing.assert_array_equal(fast.histogram, slow.histogram)


def test_warm_compiles_the_signatures_extraction_uses():
    kernels.warm()
    for kernel in (kernels.box_reduce, kernels.texture, kernels.blockiness, kernels.foreground,
                   kernels.histogram, kernels.histogram_features):  # fmt: skip
        assert kernel.signatures, kernel
    # The blockiness crop is a strided view: its own compiled variant, made at build time too.
    layouts = {sig[0].layout for sig in kernels.blockiness.signatures}
    assert {"C", "A"} <= layouts
