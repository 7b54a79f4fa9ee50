"""The Evidently 0.7 report, configured from the engine's own tests and thresholds.

Each column gets the method and threshold of its :class:`FeatureDrift` row, so
the Evidently page and driftloop's decision never disagree about a feature.
Evidently is imported inside the function: it takes seconds to import.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftloop.errors import InputError
from driftloop.results import DriftResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EVIDENTLY_METHODS", "evidently_columns", "write_evidently_html"]

log = logging.getLogger(__name__)

# driftloop test name -> Evidently stattest name. Evidently's "wasserstein" is
# the normed distance, which is what the engine computes above small_sample_max.
EVIDENTLY_METHODS: dict[str, str] = {
    "ks": "ks",
    "wasserstein": "wasserstein",
    "psi": "psi",
    "jensenshannon": "jensenshannon",
    "chisquare": "chisquare",
}


def evidently_columns(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> tuple[dict[str, str], dict[str, float], list[str], list[str]]:
    """Per-column methods and thresholds, and the numerical/categorical column lists.

    Only features the engine tested with a method Evidently knows, and that
    both frames hold, are included.
    """
    methods: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    numerical: list[str] = []
    categorical: list[str] = []
    for feature in result.features:
        method = EVIDENTLY_METHODS.get(feature.test)
        if method is None or feature.name in methods:
            continue
        if feature.name not in current_df.columns or feature.name not in reference_df.columns:
            continue
        methods[feature.name] = method
        thresholds[feature.name] = float(feature.threshold)
        (categorical if feature.kind == "categorical" else numerical).append(feature.name)
    return methods, thresholds, numerical, categorical


def write_evidently_html(
    result: DriftResult,
    current_df: pd.DataFrame,
    reference_df: pd.DataFrame,
    path: Path,
) -> dict[str, tuple[str, float]]:
    """Run Evidently's DataDriftPreset, save its HTML to ``path``.

    Returns what Evidently actually used per column (method, threshold), read
    back from the snapshot, so callers and tests can check it matches the result.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    methods, thresholds, numerical, categorical = evidently_columns(
        result, current_df, reference_df
    )
    if not methods:
        raise InputError(
            "no feature of the drift result is a column of both the current and reference "
            f"tables with a test Evidently knows (tests seen: "
            f"{sorted({f.test for f in result.features}) or 'none'}); "
            "pass the feature table the result was computed from"
        )
    columns = numerical + categorical

    def frame(df: pd.DataFrame) -> Any:
        data = df[columns].copy()
        for name in categorical:
            data[name] = data[name].astype(str)
        return Dataset.from_pandas(
            data,
            data_definition=DataDefinition(
                numerical_columns=numerical, categorical_columns=categorical
            ),
        )

    preset = DataDriftPreset(
        columns=columns, per_column_method=methods, per_column_threshold=thresholds
    )
    snapshot = Report([preset], include_tests=True).run(frame(current_df), frame(reference_df))
    snapshot.save_html(str(path))
    used: dict[str, tuple[str, float]] = {}
    for metric in snapshot.dict().get("metrics", []):
        config = metric.get("config", {})
        if str(config.get("type", "")).endswith("ValueDrift"):
            used[str(config["column"])] = (str(config["method"]), float(config["threshold"]))
    log.info(
        "evidently report: %d numerical + %d categorical columns -> %s",
        len(numerical),
        len(categorical),
        path,
    )
    return used
