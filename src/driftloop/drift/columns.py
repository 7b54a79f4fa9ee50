"""Which columns of a feature table the drift engine tests, and how.

The features catalog (``driftloop.features.catalog.FEATURES``) says which image
features are monitored and whether they are numerical or categorical. Without
it (or for columns it does not list) numeric dtypes are numerical and
object/category dtypes categorical. Identity and model-output columns are never
image features: the model side has its own detectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from driftloop.constants import CLASSES

__all__ = [
    "EMBEDDING_COLUMN",
    "ID_COLUMNS",
    "MODEL_COLUMNS",
    "FeatureColumn",
    "feature_columns",
    "prob_columns",
]

EMBEDDING_COLUMN = "embedding"
ID_COLUMNS = frozenset(
    {"uri", "sha256", "shard", "path", "file", "status", "reason", "reason_code"}
)
MODEL_COLUMNS = frozenset(
    {"pred_class", "confidence", "margin", "softmax_entropy", EMBEDDING_COLUMN}
    | {f"prob_{c}" for c in CLASSES}
)


@dataclass(frozen=True, slots=True)
class FeatureColumn:
    """One tested column: its name, kind and report group."""

    name: str
    kind: Literal["numerical", "categorical"]
    group: Literal["image", "model"]


def _catalog() -> dict[str, Any]:
    try:
        from driftloop.features.catalog import FEATURES
    except ImportError:
        return {}
    specs = FEATURES.values() if isinstance(FEATURES, dict) else FEATURES
    return {spec.name: spec for spec in specs}


def prob_columns(df: pd.DataFrame) -> list[str]:
    """The softmax columns present, in class order."""
    return [f"prob_{c}" for c in CLASSES if f"prob_{c}" in df.columns]


def feature_columns(df: pd.DataFrame, selected: list[str] | None = None) -> list[FeatureColumn]:
    """The image feature columns of ``df`` to test (``selected`` narrows them)."""
    catalog = _catalog()
    out: list[FeatureColumn] = []
    for name in df.columns:
        name = str(name)
        if name in ID_COLUMNS or name in MODEL_COLUMNS or name.startswith("prob_"):
            continue
        if selected and name not in selected:
            continue
        spec = catalog.get(name)
        if spec is not None:
            if not getattr(spec, "monitored", True):
                continue
            kind: Literal["numerical", "categorical"] = (
                "categorical" if spec.kind == "categorical" else "numerical"
            )
            model_side = getattr(spec, "group", "") in ("model", "tumour")
            out.append(FeatureColumn(name, kind, "model" if model_side else "image"))
            continue
        dtype = df[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out.append(FeatureColumn(name, "categorical", "image"))
        elif pd.api.types.is_numeric_dtype(dtype):
            out.append(FeatureColumn(name, "numerical", "image"))
        elif (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype)) and (
            # Lists (e.g. an embedding under another name) are not categories.
            df[name].map(lambda v: isinstance(v, str | int | bool) or v is None).all()
        ):
            out.append(FeatureColumn(name, "categorical", "image"))
    return out
