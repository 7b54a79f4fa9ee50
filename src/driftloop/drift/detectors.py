"""Detectors: one call shape, one kind of row.

Each detector compares one column (or one model output) of the current table
with the baseline and returns a :class:`FeatureDrift` whose ``drifted`` is final
for distance tests (statistic >= threshold) and provisional for p-value tests:
those are decided once, across all features, after multiple-test correction
(``compare.apply_correction``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from driftloop.config import DriftSettings
from driftloop.drift import stats
from driftloop.drift.baseline import Baseline
from driftloop.errors import ConfigError
from driftloop.results import FeatureDrift

__all__ = [
    "categorical_drift",
    "choose_test",
    "class_distribution_drift",
    "numerical_drift",
    "prediction_drift",
]

Group = Literal["image", "model", "embedding"]
NUMERICAL_TESTS = ("ks", "wasserstein", "psi", "jensenshannon")
CATEGORICAL_TESTS = ("chisquare", "jensenshannon", "psi")
# Evidently norms the Wasserstein distance by the reference std, floored here.
MIN_NORM = 0.001


def choose_test(name: str, kind: str, n_current: int, settings: DriftSettings) -> tuple[str, float]:
    """The test and threshold for one feature: per-feature override, else Evidently's rule."""
    override = settings.per_feature.get(name)
    test = override.test if override is not None else "auto"
    if test == "auto":
        if kind == "categorical":
            test = "chisquare" if n_current <= settings.small_sample_max else "jensenshannon"
        else:
            test = "ks" if n_current <= settings.small_sample_max else "wasserstein"
    allowed = CATEGORICAL_TESTS if kind == "categorical" else NUMERICAL_TESTS
    if test not in allowed:
        raise ConfigError(
            f"drift.per_feature.{name}.test={test!r} does not apply to a {kind} feature; "
            f"use one of {', '.join(allowed)}"
        )
    defaults = {
        "ks": settings.alpha,
        "chisquare": settings.alpha,
        "wasserstein": settings.wasserstein_threshold,
        "psi": settings.psi_threshold,
        "jensenshannon": settings.jensenshannon_threshold,
    }
    threshold = override.threshold if override and override.threshold is not None else None
    return test, float(threshold if threshold is not None else defaults[test])


def numeric_values(series: pd.Series) -> np.ndarray:
    """The non-missing values of a column as float64."""
    values = np.asarray(pd.to_numeric(series, errors="coerce"), dtype=np.float64)
    return np.asarray(values[~np.isnan(values)])


def numerical_drift(
    name: str,
    baseline: Baseline,
    current: np.ndarray,
    settings: DriftSettings,
    group: Group = "image",
) -> FeatureDrift:
    """One numerical feature; the effect size is always the normed Wasserstein distance."""
    ref = baseline.sorted_reference(name)
    test, threshold = choose_test(name, "numerical", current.size, settings)
    cmp = stats.compare_cdfs(ref, current, pvalue=test == "ks")
    norm = max(float(np.std(ref)), MIN_NORM)
    w_norm = cmp.wasserstein / norm
    p_value: float | None = None
    if test == "ks":
        statistic, p_value = cmp.ks_statistic, cmp.ks_pvalue
        drifted = p_value < threshold
    elif test == "wasserstein":
        statistic = w_norm
    else:
        edges = stats.quantile_bins(ref)
        fn = stats.psi if test == "psi" else stats.binned_jensenshannon
        statistic = fn(ref, current, edges)
    if p_value is None:
        drifted = statistic >= threshold
    return FeatureDrift(
        name=name,
        test=test,
        statistic=float(statistic),
        p_value=p_value,
        threshold=threshold,
        drifted=bool(drifted),
        effect_size=float(w_norm),
        kind="numerical",
        group=group,
    )


def _aligned(
    reference: dict[str, int], current: pd.Series
) -> tuple[list[str], np.ndarray, np.ndarray]:
    cur_counts = current.astype(str).value_counts()
    keys = list(dict.fromkeys([*reference, *(str(k) for k in cur_counts.index)]))
    ref = np.array([reference.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([int(cur_counts.get(k, 0)) for k in keys], dtype=np.float64)
    return keys, ref, cur


def categorical_drift(
    name: str,
    reference_counts: dict[str, int],
    current: pd.Series,
    settings: DriftSettings,
    group: Group = "image",
) -> FeatureDrift:
    """One categorical feature: two-sample chi-squared (or JS / PSI over categories)."""
    _, ref, cur = _aligned(reference_counts, current.dropna())
    test, threshold = choose_test(name, "categorical", int(cur.sum()), settings)
    js = stats.jensenshannon_distance(ref, cur) if ref.sum() and cur.sum() else 0.0
    p_value: float | None = None
    if test == "chisquare":
        statistic, p_value = stats.chisquare_homogeneity(ref, cur)
        drifted = p_value < threshold
    elif test == "jensenshannon":
        statistic = js
    else:
        p = stats._fill_empty(ref / ref.sum())
        q = stats._fill_empty(cur / cur.sum())
        statistic = float(np.sum((p - q) * np.log(p / q)))
    if p_value is None:
        drifted = statistic >= threshold
    return FeatureDrift(
        name, test, float(statistic), p_value, threshold, bool(drifted), js, "categorical", group
    )


def prediction_drift(
    baseline: Baseline, current_df: pd.DataFrame, prob_cols: list[str], settings: DriftSettings
) -> tuple[FeatureDrift, dict[str, dict[str, float]]]:
    """KS on each softmax output, Bonferroni over the classes (Rabanser et al., 2019).

    Above ``small_sample_max`` rows the largest normed Wasserstein distance is used
    instead, as for image features, because KS then flags negligible shifts.
    """
    per_class: dict[str, dict[str, float]] = {}
    d_max = w_max = 0.0
    p_min = 1.0
    for col in prob_cols:
        ref = baseline.sorted_reference(col)
        cmp = stats.compare_cdfs(ref, numeric_values(current_df[col]))
        w_norm = cmp.wasserstein / max(float(np.std(ref)), MIN_NORM)
        per_class[col.removeprefix("prob_")] = {
            "ks": cmp.ks_statistic,
            "p_value": cmp.ks_pvalue,
            "wasserstein_norm": w_norm,
        }
        d_max, w_max, p_min = (
            max(d_max, cmp.ks_statistic),
            max(w_max, w_norm),
            min(p_min, cmp.ks_pvalue),
        )
    n = len(current_df)
    if n <= settings.small_sample_max:
        p = min(1.0, p_min * len(prob_cols))
        row = FeatureDrift(
            "prediction",
            "ks_bonferroni",
            d_max,
            p,
            settings.alpha,
            p < settings.alpha,
            w_max,
            "numerical",
            "model",
        )
    else:
        threshold = settings.wasserstein_threshold
        row = FeatureDrift(
            "prediction",
            "wasserstein",
            w_max,
            None,
            threshold,
            w_max >= threshold,
            w_max,
            "numerical",
            "model",
        )
    return row, per_class


def class_distribution_drift(
    baseline: Baseline, current: pd.Series, settings: DriftSettings
) -> tuple[FeatureDrift, dict[str, dict[str, float]]]:
    """Predicted-class shares: chi-squared (small n) or Jensen–Shannon (large n).

    The effect size is the Wasserstein distance between the class-share
    distributions over the class index (how far probability mass moved).
    """
    from scipy.stats import wasserstein_distance

    assert baseline.class_counts is not None
    keys, ref, cur = _aligned(baseline.class_counts, current.dropna())
    index = np.arange(len(keys), dtype=np.float64)
    effect = (
        float(wasserstein_distance(index, index, ref + 1e-12, cur + 1e-12)) if cur.sum() else 0.0
    )
    row = categorical_drift("class_distribution", baseline.class_counts, current, settings, "model")
    shares = {
        "reference": {k: float(r / max(ref.sum(), 1)) for k, r in zip(keys, ref, strict=True)},
        "current": {k: float(c / max(cur.sum(), 1)) for k, c in zip(keys, cur, strict=True)},
    }
    return (
        FeatureDrift(
            row.name,
            row.test,
            row.statistic,
            row.p_value,
            row.threshold,
            row.drifted,
            effect,
            "categorical",
            "model",
        ),
        shares,
    )
