"""driftloop.features: image and model features of a manifest's accepted images."""

from driftloop.features.catalog import FEATURES, FeatureSpec
from driftloop.features.extract import ExtractSummary, extract, read_features
from driftloop.features.image import ImageMeta, load_image

__all__ = [
    "FEATURES",
    "ExtractSummary",
    "FeatureSpec",
    "ImageMeta",
    "extract",
    "load_image",
    "read_features",
]
