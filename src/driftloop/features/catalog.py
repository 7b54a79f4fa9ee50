"""The one table of feature documentation: name, unit, meaning, kind, group.

Reports, the README and docs/ingest.md render this table; the feature code
writes exactly these columns (a test checks both directions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from driftloop.constants import CLASSES

__all__ = [
    "FEATURES",
    "IMAGE_GROUPS",
    "FeatureSpec",
    "feature_names",
    "markdown_table",
    "spec",
]

Kind = Literal["numerical", "categorical"]
IMAGE_GROUPS: Final = ("basic", "intensity", "quality", "anatomy")


@dataclass(frozen=True)
class FeatureSpec:
    """Documentation of one feature column."""

    name: str
    unit: str
    meaning: str
    kind: Kind = "numerical"
    group: str = "intensity"
    monitored: bool = True


def _f(name: str, unit: str, meaning: str, group: str, kind: Kind = "numerical",
       monitored: bool = True) -> FeatureSpec:  # fmt: skip
    return FeatureSpec(name, unit, meaning, kind, group, monitored)


W = "working image"  # size-independent features use the working resolution
FEATURES: Final[tuple[FeatureSpec, ...]] = (
    _f("width", "px", "image width as stored", "basic"),
    _f("height", "px", "image height as stored", "basic"),
    _f("aspect_ratio", "ratio", "width / height", "basic"),
    _f("channels", "count", "colour channels stored (1 grey, 3 RGB/palette, 4 RGBA)", "basic"),
    _f("bit_depth", "bits", "bits per sample as stored (DICOM: BitsStored)", "basic"),
    _f("file_size", "bytes", "size of the file", "basic"),
    _f("format", "-", "file format (JPEG, PNG, TIFF, BMP, DICOM)", "basic", "categorical"),
    _f("mean", "grey level 0-255", f"mean brightness of the {W}", "intensity"),
    _f("std", "grey level 0-255", "standard deviation of grey levels", "intensity"),
    _f("rms_contrast", "0-1", "RMS contrast: std of intensities scaled to 0-1", "intensity"),
    _f("min", "grey level 0-255", "darkest grey level", "intensity"),
    _f("max", "grey level 0-255", "brightest grey level", "intensity"),
    _f("p1", "grey level 0-255", "1st percentile of grey levels", "intensity"),
    _f("p50", "grey level 0-255", "median grey level", "intensity"),
    _f("p99", "grey level 0-255", "99th percentile of grey levels", "intensity"),
    _f("entropy", "bits", "Shannon entropy of the 256-bin grey histogram", "intensity"),
    _f("skewness", "-", "skewness of the grey-level distribution", "intensity"),
    _f("kurtosis", "-", "excess (Fisher) kurtosis of the grey levels", "intensity"),
    _f("clipped_dark", "fraction", "share of pixels at grey level <= 2", "intensity"),
    _f("clipped_bright", "fraction", "share of pixels at grey level >= 253", "intensity"),
    _f("sharpness", "grey level²", f"variance of the 4-neighbour Laplacian of the {W}", "quality"),
    _f("noise", "grey level", "noise sigma, Immerkaer's fast estimator (1996)", "quality"),
    _f(
        "jpeg_quality",
        "1-100",
        "IJG quality from the luminance quantisation table; empty for non-JPEG",
        "quality",
    ),
    _f(
        "blockiness",
        "ratio",
        "mean step across 8x8 block edges / within blocks, full-resolution central "
        "128x128 crop (1 = none)",
        "quality",
    ),
    _f(
        "foreground_fraction",
        "fraction",
        "share of pixels above Otsu's threshold (head)",
        "anatomy",
    ),
    _f(
        "centroid_x",
        "fraction of width",
        "x of the foreground centroid (0 left, 1 right)",
        "anatomy",
    ),
    _f(
        "centroid_y",
        "fraction of height",
        "y of the foreground centroid (0 top, 1 bottom)",
        "anatomy",
    ),
    _f("bbox_w", "fraction of width", "width of the foreground bounding box", "anatomy"),
    _f("bbox_h", "fraction of height", "height of the foreground bounding box", "anatomy"),
    _f("pred_class", "-", "class the model predicts", "model", "categorical"),
    _f("confidence", "probability", "softmax probability of the predicted class", "model"),
    _f("margin", "probability", "top-1 minus top-2 softmax probability", "model"),
    _f("softmax_entropy", "nats", "entropy of the softmax distribution", "model"),
    *(_f(f"prob_{c}", "probability", f"softmax probability of '{c}'", "model") for c in CLASSES),
    _f(
        "lesion_area_fraction",
        "fraction of head",
        "saliency-derived lesion area / head area; empty unless a tumour class is predicted",
        "tumour",
        monitored=False,
    ),
    _f(
        "lesion_centroid_x",
        "fraction of width",
        "x of the lesion centroid",
        "tumour",
        monitored=False,
    ),
    _f(
        "lesion_centroid_y",
        "fraction of height",
        "y of the lesion centroid",
        "tumour",
        monitored=False,
    ),
    _f(
        "lesion_eccentricity",
        "0-1",
        "eccentricity of the lesion's fitted ellipse",
        "tumour",
        monitored=False,
    ),
    _f("lesion_solidity", "0-1", "lesion area / convex hull area", "tumour", monitored=False),
)
_BY_NAME: Final = {s.name: s for s in FEATURES}


def spec(name: str) -> FeatureSpec:
    """The spec of one feature (KeyError for an unknown name)."""
    return _BY_NAME[name]


def feature_names(*groups: str, monitored_only: bool = False) -> tuple[str, ...]:
    """Names in catalog order, optionally limited to ``groups`` / monitored features."""
    return tuple(
        s.name
        for s in FEATURES
        if (not groups or s.group in groups) and (s.monitored or not monitored_only)
    )


def markdown_table() -> str:
    """The catalog as a Markdown table (for docs and reports)."""
    lines = ["| feature | group | unit | kind | meaning |", "| --- | --- | --- | --- | --- |"]
    for s in FEATURES:
        lines.append(f"| `{s.name}` | {s.group} | {s.unit} | {s.kind} | {s.meaning} |")
    return "\n".join(lines)
