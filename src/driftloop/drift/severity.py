"""Severity: one documented rule from the per-feature rows to none/low/medium/high."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from driftloop.results import FeatureDrift, SeverityLevel

__all__ = ["SeverityRule", "assess"]

LEVELS: tuple[SeverityLevel, ...] = ("none", "low", "medium", "high")

# Features of the file container, not of the pixels the model sees: a new export
# format (say DICOM instead of JPEG) is worth a note, not a retraining.
CONTAINER_FEATURES = frozenset({"format", "bit_depth", "file_size"})


@dataclass(frozen=True, slots=True)
class SeverityRule:
    """Thresholds of the rule; the defaults are the documented ones."""

    min_images: int = 30
    high_share: float = 0.5
    high_effect: float = 1.0
    medium_share: float = 0.2
    medium_effect: float = 0.3

    def text(self) -> str:
        return (
            f"insufficient_data if n_current < {self.min_images}; else none if no test "
            "drifted; else a base level from the image features (share s of them drifted, "
            "largest effect size e among the drifted: normed Wasserstein, or Jensen-Shannon "
            f"for categorical): high if s >= {self.high_share:g} or e >= {self.high_effect:g}, "
            f"medium if s >= {self.medium_share:g} or e >= {self.medium_effect:g}, low if any "
            "drifted, else none (file-container features format, bit_depth and file_size do "
            "not count here: drifting alone they give low); then each drifted model-side test "
            "(prediction, confidence, class_distribution, embedding) raises the level one "
            "step, up to high"
        )


def assess(
    rows: Sequence[FeatureDrift], n_current: int, rule: SeverityRule
) -> tuple[SeverityLevel, dict[str, float | int]]:
    """The severity of a set of decided rows, and the numbers the rule used."""
    if n_current < rule.min_images:
        return "insufficient_data", {"n_current": n_current, "min_images": rule.min_images}
    image = [r for r in rows if r.group == "image" and r.name not in CONTAINER_FEATURES]
    drifted_image = [r for r in image if r.drifted]
    container_drifted = sum(
        1 for r in rows if r.group == "image" and r.name in CONTAINER_FEATURES and r.drifted
    )
    model_drifted = sum(1 for r in rows if r.group != "image" and r.drifted)
    share = len(drifted_image) / len(image) if image else 0.0
    effect = max((r.effect_size or 0.0 for r in drifted_image), default=0.0)
    if not drifted_image:
        level = 1 if container_drifted else 0
    elif share >= rule.high_share or effect >= rule.high_effect:
        level = 3
    elif share >= rule.medium_share or effect >= rule.medium_effect:
        level = 2
    else:
        level = 1
    level = min(3, level + model_drifted)
    facts: dict[str, float | int] = {
        "n_image_features": len(image),
        "n_image_drifted": len(drifted_image),
        "share_image_drifted": share,
        "max_image_effect": effect,
        "n_model_drifted": model_drifted,
        "n_container_drifted": container_drifted,
    }
    return LEVELS[level], facts
