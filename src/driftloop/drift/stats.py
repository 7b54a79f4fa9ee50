"""Two-sample statistics, vectorised and checked against scipy.

The numerical tests share one pass: the reference is kept sorted (the baseline
does that once), the current sample is sorted, and both empirical CDFs are read
with ``np.searchsorted`` on the merged support. Kolmogorov–Smirnov is the
largest CDF gap; Wasserstein-1 is the integral of the gap. O((n + m) log(n + m))
time and a few arrays of n + m floats — no pairwise anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CdfComparison",
    "adjust_pvalues",
    "binned_jensenshannon",
    "chisquare_goodness",
    "chisquare_homogeneity",
    "compare_cdfs",
    "jensenshannon_distance",
    "ks_pvalue",
    "psi",
    "quantile_bins",
]

FloatArray = NDArray[np.float64]
# PSI and Jensen–Shannon need non-empty bins: an empty bin gets this share
# (Evidently does the same), so log(p/q) stays finite.
EMPTY_BIN_SHARE = 1e-4


@dataclass(frozen=True, slots=True)
class CdfComparison:
    """KS statistic, its p-value and the Wasserstein-1 distance of two samples."""

    ks_statistic: float
    ks_pvalue: float
    wasserstein: float
    n_reference: int
    n_current: int


def ks_pvalue(statistic: float, n_reference: int, n_current: int) -> float:
    """Two-sided KS p-value, scipy's asymptotic method (``ks_2samp(method="asymp")``)."""
    from scipy.stats import kstwo

    en = n_reference * n_current / (n_reference + n_current)
    return float(np.clip(kstwo.sf(statistic, np.round(en)), 0.0, 1.0))


def compare_cdfs(
    reference_sorted: FloatArray, current: FloatArray, *, pvalue: bool = True
) -> CdfComparison:
    """KS and Wasserstein-1 of ``current`` against an already sorted reference.

    ``pvalue=False`` skips the KS p-value (NaN then) when only distances are needed.
    NaNs are dropped from ``current`` (the reference is cleaned when the baseline
    is built). Raises ValueError when either sample is empty.
    """
    cur = np.sort(current[~np.isnan(current)])
    n, m = reference_sorted.size, cur.size
    if n == 0 or m == 0:
        raise ValueError(f"empty sample (reference {n}, current {m})")
    support = np.concatenate([reference_sorted, cur])
    support.sort(kind="mergesort")
    cdf_ref = np.searchsorted(reference_sorted, support, side="right") / n
    cdf_cur = np.searchsorted(cur, support, side="right") / m
    gap = np.abs(cdf_ref - cdf_cur)
    d = float(gap.max())
    # The CDFs are step functions: between two support points the gap is constant.
    w = float(np.sum(gap[:-1] * np.diff(support)))
    p = ks_pvalue(d, n, m) if pvalue else float("nan")
    return CdfComparison(d, p, w, n, m)


def quantile_bins(reference_sorted: FloatArray, n_bins: int = 10) -> FloatArray:
    """Inner bin edges at the reference quantiles (ties collapse to fewer bins)."""
    qs = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    return np.unique(np.quantile(reference_sorted, qs))


def _shares(sample: FloatArray, inner_edges: FloatArray) -> FloatArray:
    counts = np.bincount(
        np.searchsorted(inner_edges, sample, side="right"), minlength=inner_edges.size + 1
    ).astype(np.float64)
    return counts / max(sample.size, 1)


def _fill_empty(shares: FloatArray) -> FloatArray:
    out = np.where(shares == 0, EMPTY_BIN_SHARE, shares)
    return np.asarray(out / out.sum(), dtype=np.float64)


def psi(reference: FloatArray, current: FloatArray, inner_edges: FloatArray) -> float:
    """Population stability index over the bins ``(-inf, e0], (e0, e1], ..., (ek, inf)``."""
    p = _fill_empty(_shares(reference, inner_edges))
    q = _fill_empty(_shares(current, inner_edges))
    return float(np.sum((p - q) * np.log(p / q)))


def jensenshannon_distance(p: FloatArray, q: FloatArray) -> float:
    """Jensen–Shannon distance (natural log), as ``scipy.spatial.distance.jensenshannon``."""
    p = np.asarray(p, dtype=np.float64) / np.sum(p)
    q = np.asarray(q, dtype=np.float64) / np.sum(q)
    mid = (p + q) / 2.0

    def kl(a: FloatArray, b: FloatArray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / b[mask])))

    return math.sqrt(max((kl(p, mid) + kl(q, mid)) / 2.0, 0.0))


def binned_jensenshannon(
    reference: FloatArray, current: FloatArray, inner_edges: FloatArray
) -> float:
    """Jensen–Shannon distance of two numerical samples over the given bins."""
    return jensenshannon_distance(_shares(reference, inner_edges), _shares(current, inner_edges))


def chisquare_goodness(observed: FloatArray, expected_shares: FloatArray) -> tuple[float, float]:
    """Pearson goodness of fit, as ``scipy.stats.chisquare(observed, shares * n)``."""
    from scipy.stats import chi2

    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected_shares, dtype=np.float64) * observed.sum()
    keep = expected > 0
    stat = float(np.sum((observed[keep] - expected[keep]) ** 2 / expected[keep]))
    dof = int(keep.sum()) - 1
    return stat, float(chi2.sf(stat, dof)) if dof > 0 else 1.0


def chisquare_homogeneity(
    reference_counts: FloatArray, current_counts: FloatArray
) -> tuple[float, float]:
    """Two-sample chi-squared test of equal category shares.

    The same as ``scipy.stats.chi2_contingency([ref, cur], correction=False)``.
    Used instead of goodness of fit because the reference shares are themselves
    estimated from a finite sample; treating them as exact inflates false alarms.
    """
    from scipy.stats import chi2

    table = np.vstack([reference_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or np.any(table.sum(axis=1) == 0):
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return stat, float(chi2.sf(stat, dof))


def adjust_pvalues(pvalues: FloatArray, method: Literal["bonferroni", "bh", "none"]) -> FloatArray:
    """Multiple-test adjusted p-values (Bonferroni; Benjamini–Hochberg step-up).

    Reject where the adjusted p-value is below alpha; BH then controls the false
    discovery rate at alpha, Bonferroni the family-wise error rate.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.asarray(np.minimum(p * m, 1.0), dtype=np.float64)
    if method == "bh":
        order = np.argsort(p)
        ranked = p[order] * m / np.arange(1, m + 1)
        # Step-up: each adjusted value is the smallest one at or above its rank.
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        out = np.empty(m, dtype=np.float64)
        out[order] = np.minimum(ranked, 1.0)
        return out
    raise ValueError(f"unknown correction {method!r}; use bonferroni, bh or none")
