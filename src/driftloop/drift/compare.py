"""Compare a current feature table with a baseline: tests, correction, severity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from driftloop.config import DriftSettings, Settings
from driftloop.drift import detectors, stats
from driftloop.drift.baseline import CONFIDENCE_EDGES, Baseline, embeddings
from driftloop.drift.columns import EMBEDDING_COLUMN, prob_columns
from driftloop.drift.embedding import classifier_auc_test, mmd_permutation_test
from driftloop.drift.severity import SeverityRule, assess
from driftloop.results import DriftResult, FeatureDrift

__all__ = ["apply_correction", "compare"]

log = logging.getLogger(__name__)


def apply_correction(rows: list[FeatureDrift], settings: DriftSettings) -> list[FeatureDrift]:
    """Adjust every p-value row across the whole family and decide it at alpha."""
    idx = [i for i, r in enumerate(rows) if r.p_value is not None]
    if not idx:
        return rows
    raw = np.array([rows[i].p_value for i in idx], dtype=np.float64)
    adjusted = stats.adjust_pvalues(raw, settings.correction)
    out = list(rows)
    for i, p_adj in zip(idx, adjusted, strict=True):
        out[i] = dataclasses.replace(
            rows[i],
            p_adjusted=float(p_adj),
            threshold=settings.alpha,
            drifted=bool(p_adj < settings.alpha),
        )
    return out


def _embedding_row(
    baseline: Baseline, current_df: pd.DataFrame, settings: DriftSettings
) -> tuple[FeatureDrift | None, dict[str, Any]]:
    ref = baseline.projected_reference()
    if ref is None or baseline.projection is None or EMBEDDING_COLUMN not in current_df:
        return None, {}
    present = current_df[EMBEDDING_COLUMN].dropna()
    if len(present) < 2:
        return None, {}
    cur = baseline.projection.project(embeddings(current_df.loc[present.index]))
    if len(cur) <= settings.small_sample_max:
        stat, p = mmd_permutation_test(ref, cur, permutations=settings.embedding_permutations)
        test, effect = "mmd_permutation", stat
    else:
        stat, p = classifier_auc_test(ref, cur)
        test, effect = "classifier_auc", max(0.0, 2.0 * (stat - 0.5))
    row = FeatureDrift(
        "embedding",
        test,
        stat,
        p,
        settings.alpha,
        p < settings.alpha,
        effect,
        "numerical",
        "embedding",
    )
    info = {"test": test, "statistic": stat, "p_value": p, "n_components": int(ref.shape[1])}
    return row, info


def _model_rows(
    baseline: Baseline, current_df: pd.DataFrame, settings: DriftSettings
) -> tuple[list[FeatureDrift], dict[str, Any]]:
    rows: list[FeatureDrift] = []
    details: dict[str, Any] = {}
    probs = [c for c in prob_columns(current_df) if c in baseline.reservoir.columns]
    if probs:
        row, per_class = detectors.prediction_drift(baseline, current_df, probs, settings)
        rows.append(row)
        details["prediction"] = per_class
    if "confidence" in current_df and "confidence" in baseline.reservoir:
        conf = detectors.numeric_values(current_df["confidence"])
        if conf.size:
            rows.append(detectors.numerical_drift("confidence", baseline, conf, settings, "model"))
            details["confidence_histogram"] = {
                "edges": CONFIDENCE_EDGES.tolist(),
                "reference": list(baseline.confidence_counts or ()),
                "current": np.histogram(conf, CONFIDENCE_EDGES)[0].astype(int).tolist(),
            }
    if "pred_class" in current_df and baseline.class_counts is not None:
        row, shares = detectors.class_distribution_drift(
            baseline, current_df["pred_class"], settings
        )
        rows.append(row)
        details["class_shares"] = shares
    emb_row, emb_info = _embedding_row(baseline, current_df, settings)
    if emb_row is not None:
        rows.append(emb_row)
        details["embedding"] = emb_info
    return rows, details


def _image_rows(
    baseline: Baseline, current_df: pd.DataFrame, settings: DriftSettings
) -> list[FeatureDrift]:
    rows: list[FeatureDrift] = []
    for col in baseline.columns:
        if col.name not in current_df.columns:
            log.warning(
                "feature %s is in the baseline but not in the current table; skipped", col.name
            )
            continue
        if col.kind == "numerical":
            values = detectors.numeric_values(current_df[col.name])
            if values.size == 0 or baseline.sorted_reference(col.name).size == 0:
                continue
            rows.append(detectors.numerical_drift(col.name, baseline, values, settings, col.group))
        else:
            counts = baseline.category_counts.get(col.name, {})
            rows.append(
                detectors.categorical_drift(
                    col.name, counts, current_df[col.name], settings, col.group
                )
            )
    return rows


def compare(
    baseline: Baseline,
    current_df: pd.DataFrame,
    settings: Settings,
    *,
    n_quarantined: int = 0,
    logical_date: str | dt.date | None = None,
) -> DriftResult:
    """Test every monitored feature and model output; correct; grade the severity."""
    started = time.perf_counter()
    cfg = settings.drift
    rule = SeverityRule(min_images=cfg.min_images)
    n_current = len(current_df)
    rows: list[FeatureDrift] = []
    details: dict[str, Any] = {}
    if n_current >= cfg.min_images:
        rows = _image_rows(baseline, current_df, cfg)
        model_rows, details = _model_rows(baseline, current_df, cfg)
        rows = apply_correction(rows + model_rows, cfg)
    severity, facts = assess(rows, n_current, rule)
    details = {
        **details,
        "severity_inputs": facts,
        "n_tests_corrected": sum(1 for r in rows if r.p_value is not None),
        "seconds": round(time.perf_counter() - started, 4),
    }
    drifted = severity != "insufficient_data" and any(r.drifted for r in rows)
    log.info(
        "compared %d current rows with baseline %s (%d rows): %d/%d tests drifted, severity %s",
        n_current,
        baseline.version,
        baseline.n_rows,
        sum(r.drifted for r in rows),
        len(rows),
        severity,
    )
    date = logical_date.isoformat() if isinstance(logical_date, dt.date) else logical_date
    return DriftResult(
        drift_detected=drifted,
        severity=severity,
        severity_rule=rule.text(),
        n_reference=baseline.n_rows,
        n_current=n_current,
        n_quarantined=n_quarantined,
        features=tuple(rows),
        correction=cfg.correction,
        alpha=cfg.alpha,
        baseline_version=baseline.version,
        model_version=baseline.model_version,
        logical_date=date,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        details=details,
    )
