"""Known answers for every statistic, checked against scipy or by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from driftloop.drift import stats
from driftloop.drift.embedding import classifier_auc_test, fit_projection, mmd_permutation_test


@pytest.mark.parametrize("discrete", [False, True])
def test_ks_and_wasserstein_match_scipy(discrete: bool) -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, 3000)
    cur = rng.normal(0.2, 1.1, 700)
    if discrete:  # ties, as in integer-valued features
        ref, cur = np.round(ref * 3), np.round(cur * 3)
    got = stats.compare_cdfs(np.sort(ref), cur)
    want = sps.ks_2samp(ref, cur, method="asymp")
    assert got.ks_statistic == pytest.approx(want.statistic, abs=1e-12)
    assert got.ks_pvalue == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
    assert got.ks_pvalue == pytest.approx(sps.ks_2samp(ref, cur).pvalue, abs=0.01)
    assert got.wasserstein == pytest.approx(sps.wasserstein_distance(ref, cur), rel=1e-9)


def test_compare_cdfs_ignores_nan_in_current_and_rejects_empty() -> None:
    ref = np.sort(np.arange(10.0))
    with_nan = stats.compare_cdfs(ref, np.array([1.0, np.nan, 3.0]))
    assert with_nan.n_current == 2
    with pytest.raises(ValueError, match="empty sample"):
        stats.compare_cdfs(ref, np.array([np.nan]))


def test_psi_by_hand_on_a_fixed_example() -> None:
    ref = np.array([1, 1, 2, 2, 2, 3, 3, 3, 3, 4], dtype=float)
    cur = np.array([1, 2, 2, 3, 3, 3, 4, 4, 4, 4], dtype=float)
    edges = np.array([1.5, 2.5, 3.5])  # bins: <=1.5, (1.5,2.5], (2.5,3.5], >3.5
    p = np.array([0.2, 0.3, 0.4, 0.1])
    q = np.array([0.1, 0.2, 0.3, 0.4])
    expected = float(np.sum((p - q) * np.log(p / q)))
    assert stats.psi(ref, cur, edges) == pytest.approx(expected)
    # 0.1 ln 2 + 0.1 ln 1.5 + 0.1 ln(4/3) + 0.3 ln 4
    assert expected == pytest.approx(0.5545, abs=1e-4)


def test_psi_of_identical_samples_is_zero_and_empty_bins_stay_finite() -> None:
    x = np.arange(100.0)
    assert stats.psi(x, x, stats.quantile_bins(x)) == pytest.approx(0.0)
    assert np.isfinite(stats.psi(x, x + 1000, stats.quantile_bins(x)))


def test_jensenshannon_matches_scipy() -> None:
    p = np.array([10, 20, 30, 0], dtype=float)
    q = np.array([5, 25, 20, 10], dtype=float)
    assert stats.jensenshannon_distance(p, q) == pytest.approx(jensenshannon(p, q))


def test_chisquare_goodness_matches_scipy() -> None:
    observed = np.array([30, 14, 34, 45, 57, 20], dtype=float)
    shares = np.array([20, 20, 30, 40, 60, 30], dtype=float) / 200
    want = sps.chisquare(observed, shares * observed.sum())
    got = stats.chisquare_goodness(observed, shares)
    assert got == pytest.approx((want.statistic, want.pvalue))


def test_chisquare_homogeneity_matches_contingency_table() -> None:
    ref = np.array([120, 80, 60, 0], dtype=float)
    cur = np.array([20, 30, 10, 0], dtype=float)
    want = sps.chi2_contingency(np.vstack([ref[:3], cur[:3]]), correction=False)
    assert stats.chisquare_homogeneity(ref, cur) == pytest.approx((want.statistic, want.pvalue))


def test_bonferroni_known_answer() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5])
    assert stats.adjust_pvalues(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 1.0])


def test_benjamini_hochberg_known_answer_and_scipy() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> x m/rank = 0.02, 0.02, 0.04, 0.04
    assert stats.adjust_pvalues(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    rng = np.random.default_rng(3)
    many = rng.uniform(0, 0.2, 50)
    assert stats.adjust_pvalues(many, "bh") == pytest.approx(sps.false_discovery_control(many))


def test_unknown_correction_is_rejected() -> None:
    with pytest.raises(ValueError, match="holm"):
        stats.adjust_pvalues(np.array([0.1]), "holm")  # type: ignore[arg-type]


def test_mmd_permutation_keeps_null_and_sees_a_mean_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, (300, 8))
    _, p_null = mmd_permutation_test(ref, rng.normal(0, 1, (100, 8)), permutations=99)
    _, p_shift = mmd_permutation_test(ref, rng.normal(0.5, 1, (100, 8)), permutations=99)
    assert p_null > 0.05
    assert p_shift < 0.001  # below the 1/(P+1) floor, by the gamma tail


def test_classifier_auc_is_half_under_null_and_high_under_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, (2000, 8))
    auc_null, p_null = classifier_auc_test(ref, rng.normal(0, 1, (2000, 8)))
    auc_shift, p_shift = classifier_auc_test(ref, rng.normal(0.3, 1, (2000, 8)))
    assert abs(auc_null - 0.5) < 0.05 and p_null > 0.01
    assert auc_shift > 0.6 and p_shift < 1e-6


def test_pca_projection_keeps_the_leading_direction() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (500, 5)) * np.array([10, 1, 1, 1, 1])
    proj = fit_projection(x, 2)
    assert abs(proj.components[0, 0]) > 0.99
    assert proj.project(x).shape == (500, 2)
