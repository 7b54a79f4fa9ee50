"""Each production day carries its scenario's effect at the stated strength."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from demo_helpers import load_grey
from PIL import Image
from scipy import ndimage, stats

from driftloop.constants import CLASSES
from driftloop.demo import scenarios
from driftloop.demo.cases import render_case
from driftloop.errors import InputError


def _images(root: Path, folder: str, n: int = 32) -> list[np.ndarray]:
    paths = sorted((root / folder).rglob("img_*.jpg")) or sorted((root / folder).rglob("*.jpg"))
    return [load_grey(p) for p in paths[:n]]


def _reference(root: Path) -> list[np.ndarray]:
    return [
        load_grey(p)
        for cls in CLASSES
        for p in sorted((root / "reference" / cls).glob("*.jpg"))[:8]
    ]


def _noise_sigma(img: np.ndarray) -> float:
    # Immerkaer's fast noise estimate: Laplacian-difference kernel over flat regions.
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = ndimage.convolve(img, kernel)
    return float(np.sqrt(np.pi / 2) * np.mean(np.abs(response)) / 6.0)


def _lap_var(img: np.ndarray) -> float:
    return float(ndimage.laplace(img).var())


def _median(values: list[float]) -> float:
    return float(np.median(values))


def test_clean_days_match_the_reference_distribution(
    demo_tiny: Path, demo_scenarios: dict[str, Any]
) -> None:
    ref = [x.mean() for x in _reference(demo_tiny)]
    ref_noise = [_noise_sigma(x) for x in _reference(demo_tiny)]
    clean = [d for d, e in demo_scenarios.items() if e["scenario"] == "clean"]
    day = [x for d in clean for x in _images(demo_tiny, f"production/{d}", 12)]
    assert stats.ks_2samp(ref, [x.mean() for x in day]).pvalue > 0.01
    assert stats.ks_2samp(ref_noise, [_noise_sigma(x) for x in day]).pvalue > 0.01


def test_scanner_change_day_is_brighter(demo_tiny: Path, day_of: dict[str, str]) -> None:
    ref = _median([x.mean() for x in _reference(demo_tiny)])
    day = _median([x.mean() for x in _images(demo_tiny, f"production/{day_of['scanner_change']}")])
    assert day > ref * 1.1


def test_noise_day_has_higher_noise_estimate(demo_tiny: Path, day_of: dict[str, str]) -> None:
    ref = _median([_noise_sigma(x) for x in _reference(demo_tiny)])
    day = _median([_noise_sigma(x) for x in _images(demo_tiny, f"production/{day_of['noise']}")])
    assert day > ref * 2.0


def test_blur_day_has_lower_laplacian_variance(demo_tiny: Path, day_of: dict[str, str]) -> None:
    ref = _median([_lap_var(x) for x in _reference(demo_tiny)])
    day = _median([_lap_var(x) for x in _images(demo_tiny, f"production/{day_of['blur']}")])
    assert day < ref * 0.5


def test_resolution_day_loses_detail_and_changes_matrix_size(
    demo_tiny: Path, day_of: dict[str, str]
) -> None:
    folder = demo_tiny / "production" / day_of["resolution"]
    sizes = {Image.open(p).size for p in folder.glob("*.jpg")}
    assert sizes == {(256, 256), (192, 192)}
    full = [load_grey(p) for p in sorted(folder.glob("*.jpg")) if Image.open(p).size == (256, 256)]
    ref = _median([_lap_var(x) for x in _reference(demo_tiny)])
    assert _median([_lap_var(x) for x in full]) < ref * 0.5


def _quant_total(path: Path) -> int:
    with Image.open(path) as im:
        return int(sum(im.quantization[0]))  # type: ignore[attr-defined]


def test_jpeg_day_uses_coarser_quantisation_tables(demo_tiny: Path, day_of: dict[str, str]) -> None:
    ref = _quant_total(next((demo_tiny / "reference" / "glioma").glob("*.jpg")))
    day_files = sorted((demo_tiny / "production" / day_of["jpeg_quality"]).glob("*.jpg"))
    day = {_quant_total(p) for p in day_files}
    expected = _quant_total_of_quality(30)
    assert day == {expected} and expected > 3 * ref


def _quant_total_of_quality(quality: int) -> int:
    import io

    with Image.open(io.BytesIO(scenarios.encode_jpeg(np.zeros((16, 16), np.uint8), quality))) as im:
        return int(sum(im.quantization[0]))  # type: ignore[attr-defined]


def test_class_prior_day_has_more_tumours(
    demo_labels: list[dict[str, str]], day_of: dict[str, str]
) -> None:
    rows = [r for r in demo_labels if r["file"].startswith(f"production/{day_of['class_prior']}/")]
    share = sum(r["class"] != "notumor" for r in rows) / len(rows)
    assert share > 0.8  # 0.75 on reference; odds x3 gives 0.9 expected
    weights = scenarios.class_weights("class_prior", 3.0)
    assert weights["notumor"] == pytest.approx(0.1) and sum(weights.values()) == pytest.approx(1.0)


def _band_energy(img: np.ndarray, period: float) -> float:
    spec = np.abs(np.fft.fftshift(np.fft.fft2(img - img.mean()))) ** 2
    n = img.shape[0]
    fy, fx = np.meshgrid(
        np.fft.fftshift(np.fft.fftfreq(n)), np.fft.fftshift(np.fft.fftfreq(n)), indexing="ij"
    )
    radius = np.sqrt(fx**2 + fy**2)
    band = np.abs(radius - 1.0 / period) < 0.006
    return float(spec[band].sum() / spec.sum())


def _artefact_energy(img: np.ndarray) -> float:
    # Stripe and ring periods at 256 px.
    return max(_band_energy(img, scenarios.STRIPE_PERIOD), _band_energy(img, scenarios.RING_PERIOD))


def test_artefact_day_has_energy_at_the_ring_and_stripe_frequency(
    demo_tiny: Path, day_of: dict[str, str]
) -> None:
    ref = _median([_artefact_energy(x) for x in _reference(demo_tiny)])
    day = _median(
        [_artefact_energy(x) for x in _images(demo_tiny, f"production/{day_of['artefact']}")]
    )
    assert day > ref * 4


def test_apply_makes_both_artefact_kinds() -> None:
    base, _ = render_case("notumor", np.random.default_rng(1))
    kinds = set()
    for seed in range(6):
        out = scenarios.apply(base, "artefact", 18.0, np.random.default_rng(seed)).astype(
            np.float32
        )
        diff = out - base
        # Stripes are constant down each column; rings are not.
        kinds.add("stripe" if diff[40:200, :].std(axis=0).mean() < 3 else "ring")
    assert kinds == {"stripe", "ring"}


@pytest.mark.parametrize(
    ("name", "strength"),
    [
        ("brightness", 1.15),
        ("contrast", 0.8),
        ("noise", 8.0),
        ("blur", 1.5),
        ("resolution", 0.5),
        ("jpeg_quality", 30),
    ],
)
def test_benchmark_shifts_change_the_image_but_not_its_shape(name: str, strength: float) -> None:
    base, _ = render_case("glioma", np.random.default_rng(3))
    out = scenarios.apply(base, name, strength, np.random.default_rng(0))
    assert out.shape == base.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - base.astype(int)).mean() > 0.5


def test_brightness_and_contrast_scale_as_stated() -> None:
    base, _ = render_case("meningioma", np.random.default_rng(4))
    brighter = scenarios.apply(base, "brightness", 1.15, np.random.default_rng(0))
    assert brighter.mean() == pytest.approx(base.mean() * 1.15, rel=0.03)
    flatter = scenarios.apply(base, "contrast", 0.8, np.random.default_rng(0))
    assert flatter.std() == pytest.approx(base.std() * 0.8, rel=0.03)


def test_apply_rejects_colour_images_and_unknown_scenarios() -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InputError, match=r"shape \(8, 8, 3\)"):
        scenarios.apply(rgb, "noise", 8.0, np.random.default_rng(0))
    with pytest.raises(InputError, match="unknown scenario 'fog'"):
        scenarios.apply(rgb[:, :, 0], "fog", 1.0, np.random.default_rng(0))
    with pytest.raises(InputError, match="downscale factor"):
        scenarios.apply(rgb[:, :, 0], "resolution", 2.0, np.random.default_rng(0))
