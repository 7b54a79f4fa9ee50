"""Baseline profiles: what "no drift" looks like, built once from reference images.

A profile holds a uniform sample of reference rows (the reservoir; every
numerical test and the reports read it), additive summaries (histograms,
category counts, class counts, a confidence histogram) and, with a model, a PCA
projection of the embeddings. Profiles of shards merge into one: reservoirs by
weighted sampling (each row keeps an equal chance of being in the result),
counts by addition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from driftloop.config import Settings
from driftloop.constants import CLASSES
from driftloop.drift.columns import EMBEDDING_COLUMN, FeatureColumn, feature_columns
from driftloop.drift.embedding import Projection, fit_projection
from driftloop.errors import BaselineError

__all__ = ["CONFIDENCE_EDGES", "Baseline", "Histogram", "build_baseline", "merge_baselines"]

HISTOGRAM_BINS = 30
CONFIDENCE_EDGES = np.linspace(0.0, 1.0, 21)
PCA_COMPONENTS = 16


@dataclass(frozen=True)
class Histogram:
    """Counts over bin edges plus moments; adds exactly when edges match."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    n: int
    mean: float
    std: float

    @classmethod
    def of(cls, values: np.ndarray, bins: int = HISTOGRAM_BINS) -> Histogram:
        values = values[~np.isnan(values)]
        if values.size == 0:
            return cls((0.0, 1.0), (0,), 0, float("nan"), float("nan"))
        lo, hi = float(values.min()), float(values.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        counts, _ = np.histogram(values, edges)
        return cls(
            tuple(edges.tolist()),
            tuple(int(c) for c in counts),
            int(values.size),
            float(values.mean()),
            float(values.std()),
        )

    def _cumulative_at(self, points: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[0.0], np.cumsum(self.counts)])
        # Mass spreads evenly inside a bin, so the cumulative count is piecewise linear.
        return np.asarray(np.interp(points, np.asarray(self.edges), cum), dtype=np.float64)

    def merged(self, other: Histogram) -> Histogram:
        """The histogram of both samples (re-binned onto the union range when edges differ)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        mean = (self.n * self.mean + other.n * other.mean) / n
        second = (
            self.n * (self.std**2 + self.mean**2) + other.n * (other.std**2 + other.mean**2)
        ) / n
        std = float(np.sqrt(max(second - mean**2, 0.0)))
        if self.edges == other.edges:
            counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
            return Histogram(self.edges, counts, n, mean, std)
        edges = np.linspace(
            min(self.edges[0], other.edges[0]),
            max(self.edges[-1], other.edges[-1]),
            len(self.counts) + 1,
        )
        cum = self._cumulative_at(edges) + other._cumulative_at(edges)
        counts_f = np.diff(cum)
        counts = np.floor(counts_f).astype(int)
        # Hand the rounding remainder to the largest fractions so the total stays n.
        short = n - int(counts.sum())
        if short > 0:
            counts[np.argsort(counts_f - counts)[::-1][:short]] += 1
        return Histogram(tuple(edges.tolist()), tuple(int(c) for c in counts), n, mean, std)

    def to_dict(self) -> dict[str, Any]:
        return {
            "edges": list(self.edges),
            "counts": list(self.counts),
            "n": self.n,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Histogram:
        return cls(tuple(d["edges"]), tuple(d["counts"]), d["n"], d["mean"], d["std"])


@dataclass
class Baseline:
    """A reference profile (see the module docstring). Built by :func:`build_baseline`."""

    version: str
    n_rows: int
    columns: tuple[FeatureColumn, ...]
    reservoir: pd.DataFrame
    histograms: dict[str, Histogram]
    category_counts: dict[str, dict[str, int]]
    class_counts: dict[str, int] | None = None
    confidence_counts: tuple[int, ...] | None = None
    projection: Projection | None = None
    model_version: str | None = None
    data_fingerprint: str | None = None
    created_at: str = ""
    uri: str | None = None
    _sorted: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _projected: np.ndarray | None = field(default=None, repr=False)

    def reference_frame(self) -> pd.DataFrame:
        """The reservoir of reference rows, with the feature table's columns."""
        return self.reservoir.copy()

    def sorted_reference(self, name: str) -> np.ndarray:
        """The reservoir values of one column, NaNs dropped, sorted (cached)."""
        if name not in self._sorted:
            values = pd.to_numeric(self.reservoir[name], errors="coerce").to_numpy(np.float64)
            self._sorted[name] = np.sort(values[~np.isnan(values)])
        return self._sorted[name]

    def projected_reference(self) -> np.ndarray | None:
        """The reservoir's embeddings in PCA space, or None without a model."""
        if self.projection is None or EMBEDDING_COLUMN not in self.reservoir:
            return None
        if self._projected is None:
            self._projected = self.projection.project(embeddings(self.reservoir))
        return self._projected

    @property
    def has_model(self) -> bool:
        return self.class_counts is not None


def embeddings(df: pd.DataFrame) -> np.ndarray:
    """The embedding column as an (n, D) float array."""
    return np.asarray(np.stack(df[EMBEDDING_COLUMN].to_numpy()), dtype=np.float64)


def _fingerprint(df: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    if "sha256" in df.columns:
        for sha in sorted(df["sha256"].astype(str)):
            digest.update(sha.encode())
    else:
        digest.update(
            pd.util.hash_pandas_object(df.drop(columns=[EMBEDDING_COLUMN], errors="ignore"))
            .to_numpy()
            .tobytes()
        )
    return digest.hexdigest()


def _new_version(fingerprint: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{fingerprint[:8]}"


def _summaries(
    df: pd.DataFrame, columns: tuple[FeatureColumn, ...]
) -> tuple[dict[str, Histogram], dict[str, dict[str, int]]]:
    hists: dict[str, Histogram] = {}
    cats: dict[str, dict[str, int]] = {}
    for col in columns:
        if col.kind == "numerical":
            values = pd.to_numeric(df[col.name], errors="coerce").to_numpy(np.float64)
            hists[col.name] = Histogram.of(values)
        else:
            counts = df[col.name].astype(str).value_counts()
            cats[col.name] = {str(k): int(v) for k, v in counts.items()}
    return hists, cats


def _with_projection(reservoir: pd.DataFrame) -> Projection | None:
    if EMBEDDING_COLUMN not in reservoir.columns or len(reservoir) < 3:
        return None
    return fit_projection(embeddings(reservoir), PCA_COMPONENTS)


def build_baseline(
    features_df: pd.DataFrame,
    *,
    settings: Settings,
    model_version: str | None = None,
    data_fingerprint: str | None = None,
    seed: int = 0,
) -> Baseline:
    """Profile a reference feature table (see the module docstring)."""
    if len(features_df) == 0:
        raise BaselineError(
            "cannot build a baseline from an empty feature table; point --images/--features "
            "at the reference images"
        )
    columns = tuple(feature_columns(features_df, settings.drift.features or None))
    if not columns:
        raise BaselineError(
            f"no feature columns to profile among {list(features_df.columns)[:12]}; "
            "extract features first ('driftloop extract')"
        )
    rng = np.random.default_rng(seed)
    size = min(settings.drift.reservoir_size, len(features_df))
    rows = np.sort(rng.choice(len(features_df), size=size, replace=False))
    reservoir = features_df.iloc[rows].reset_index(drop=True)
    hists, cats = _summaries(features_df, columns)
    class_counts = confidence = None
    if "pred_class" in features_df.columns:
        counts = features_df["pred_class"].astype(str).value_counts()
        class_counts = {c: int(counts.get(c, 0)) for c in CLASSES} | {
            str(k): int(v) for k, v in counts.items() if k not in CLASSES
        }
    if "confidence" in features_df.columns:
        conf = pd.to_numeric(features_df["confidence"], errors="coerce").dropna().to_numpy()
        confidence = tuple(int(c) for c in np.histogram(conf, CONFIDENCE_EDGES)[0])
    fingerprint = data_fingerprint or _fingerprint(features_df)
    return Baseline(
        version=_new_version(fingerprint),
        n_rows=len(features_df),
        columns=columns,
        reservoir=reservoir,
        histograms=hists,
        category_counts=cats,
        class_counts=class_counts,
        confidence_counts=confidence,
        projection=_with_projection(reservoir),
        model_version=model_version,
        data_fingerprint=fingerprint,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def _add_counts(a: dict[str, int] | None, b: dict[str, int] | None) -> dict[str, int] | None:
    if a is None or b is None:
        return a if b is None else b
    return {k: a.get(k, 0) + b.get(k, 0) for k in dict.fromkeys([*a, *b])}


def merge_baselines(
    baselines: list[Baseline], *, reservoir_size: int | None = None, seed: int = 0
) -> Baseline:
    """One profile from the profiles of disjoint shards of the reference data."""
    if not baselines:
        raise BaselineError("merge needs at least one baseline; pass two or more URIs")
    first = baselines[0]
    for other in baselines[1:]:
        if {c.name for c in other.columns} != {c.name for c in first.columns}:
            raise BaselineError(
                f"baseline {other.version} has different features than {first.version}; "
                "rebuild the shards with the same settings"
            )
        if other.model_version != first.model_version:
            raise BaselineError(
                f"baselines come from different models ({first.model_version!r} vs "
                f"{other.model_version!r}); rebuild them with the same --model"
            )
    rng = np.random.default_rng(seed)
    total = sum(b.n_rows for b in baselines)
    size = min(reservoir_size or max(len(b.reservoir) for b in baselines), total)
    # How many merged rows each shard contributes follows its share of all rows;
    # a multivariate hypergeometric draw keeps each original row equally likely.
    takes = rng.multivariate_hypergeometric([b.n_rows for b in baselines], size)
    parts = []
    for b, take in zip(baselines, takes, strict=True):
        take = min(int(take), len(b.reservoir))
        parts.append(b.reservoir.iloc[np.sort(rng.choice(len(b.reservoir), take, replace=False))])
    reservoir = pd.concat(parts, ignore_index=True)
    hists = dict(first.histograms)
    cats = {k: dict(v) for k, v in first.category_counts.items()}
    class_counts, confidence = first.class_counts, first.confidence_counts
    for b in baselines[1:]:
        hists = {k: h.merged(b.histograms[k]) for k, h in hists.items()}
        cats = {k: _add_counts(v, b.category_counts.get(k, {})) or {} for k, v in cats.items()}
        class_counts = _add_counts(class_counts, b.class_counts)
        if confidence is not None and b.confidence_counts is not None:
            confidence = tuple(x + y for x, y in zip(confidence, b.confidence_counts, strict=True))
    fingerprint = hashlib.sha256(
        "".join(sorted(b.data_fingerprint or b.version for b in baselines)).encode()
    ).hexdigest()
    return Baseline(
        version=_new_version(fingerprint),
        n_rows=total,
        columns=first.columns,
        reservoir=reservoir,
        histograms=hists,
        category_counts=cats,
        class_counts=class_counts,
        confidence_counts=confidence,
        projection=_with_projection(reservoir),
        model_version=first.model_version,
        data_fingerprint=fingerprint,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
