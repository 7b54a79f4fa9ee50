"""The severity rule on hand-made rows: what counts, and how much."""

from __future__ import annotations

from driftloop.drift.severity import SeverityRule, assess
from driftloop.results import FeatureDrift


def row(name: str, drifted: bool, effect: float = 0.5, group: str = "image") -> FeatureDrift:
    return FeatureDrift(
        name=name,
        test="ks",
        statistic=0.3,
        p_value=0.001 if drifted else 0.5,
        threshold=0.05,
        drifted=drifted,
        effect_size=effect,
        group=group,
    )  # type: ignore[arg-type]


IMAGE = [
    "mean",
    "std",
    "entropy",
    "sharpness",
    "noise",
    "p50",
    "p99",
    "kurtosis",
    "skewness",
    "min",
]


def test_container_features_alone_give_low_not_retraining() -> None:
    rows = [row(n, False) for n in IMAGE]
    rows += [row("format", True, 1.0), row("bit_depth", True, 1.0), row("file_size", True, 2.0)]
    level, facts = assess(rows, 200, SeverityRule())
    assert level == "low"
    assert facts["n_container_drifted"] == 3 and facts["n_image_drifted"] == 0


def test_container_features_do_not_inflate_the_share() -> None:
    rows = [row(n, n == "mean", 0.1) for n in IMAGE]
    rows += [row("format", True), row("bit_depth", True), row("file_size", True)]
    level, facts = assess(rows, 200, SeverityRule())
    assert facts["share_image_drifted"] == 0.1
    assert level == "low"


def test_model_side_drift_raises_one_step_each() -> None:
    rows = [row(n, n == "mean", 0.1) for n in IMAGE]
    rows += [row("prediction", True, group="model"), row("confidence", True, group="model")]
    level, _ = assess(rows, 200, SeverityRule())
    assert level == "high"


def test_half_the_image_features_drifting_is_high() -> None:
    rows = [row(n, i < 5, 0.2) for i, n in enumerate(IMAGE)]
    assert assess(rows, 200, SeverityRule())[0] == "high"


def test_too_few_images_is_insufficient_data() -> None:
    rows = [row(n, True) for n in IMAGE]
    assert assess(rows, 29, SeverityRule(min_images=30))[0] == "insufficient_data"
