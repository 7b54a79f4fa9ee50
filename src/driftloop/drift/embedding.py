"""Embedding drift: a PCA projection of the model's embeddings, then one test.

Small samples: maximum mean discrepancy (Gaussian kernel, median-heuristic
bandwidth) with a permutation test — exact level under the null, no
distributional assumption. Large samples: a linear-time domain classifier
(logistic regression, two-fold cross-fitting); its held-out AUC is tested
against 0.5 with the Mann–Whitney normal approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Projection", "classifier_auc_test", "fit_projection", "mmd_permutation_test"]

FloatArray = NDArray[np.float64]
# The kernel matrix is (n + m)^2: cap each side so a test stays ~0.1 s.
MMD_MAX_PER_SIDE = 500
CLASSIFIER_MAX_PER_SIDE = 5000


@dataclass(frozen=True)
class Projection:
    """A PCA projection: ``(x - mean) @ components.T``."""

    mean: FloatArray
    components: FloatArray

    def project(self, x: FloatArray) -> FloatArray:
        return np.asarray((x - self.mean) @ self.components.T, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "components": self.components.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Projection:
        return cls(
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["components"], dtype=np.float64),
        )


def fit_projection(x: FloatArray, n_components: int = 16) -> Projection:
    """PCA by SVD on the centred reference embeddings."""
    mean = x.mean(axis=0)
    k = max(1, min(n_components, x.shape[0] - 1, x.shape[1]))
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return Projection(mean, vt[:k].astype(np.float64))


def _subsample(x: FloatArray, limit: int, rng: np.random.Generator) -> FloatArray:
    if x.shape[0] <= limit:
        return x
    return x[rng.choice(x.shape[0], size=limit, replace=False)]


def mmd_permutation_test(
    reference: FloatArray, current: FloatArray, *, permutations: int, seed: int = 0
) -> tuple[float, float]:
    """Biased MMD² and its permutation p-value ``(1 + #{perm >= obs}) / (1 + P)``.

    When no permutation reaches the observed value, the p-value is refined by a
    gamma fit to the permutation distribution (see ``_gamma_tail``).
    """
    rng = np.random.default_rng(seed)
    x = _subsample(reference, MMD_MAX_PER_SIDE, rng)
    y = _subsample(current, MMD_MAX_PER_SIDE, rng)
    z = np.vstack([x, y])
    sq = np.sum(z * z, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    positive = d2[d2 > 0]
    bandwidth = float(np.median(positive)) if positive.size else 1.0
    kernel = np.exp(-d2 / bandwidth)
    n, total = x.shape[0], z.shape[0]
    # MMD² = a^T K a with a = +1/n on one side, -1/m on the other: one matrix
    # product evaluates every permutation at once.
    labels = np.zeros((total, permutations + 1), dtype=bool)
    labels[:n, 0] = True
    for j in range(1, permutations + 1):
        labels[rng.permutation(total)[:n], j] = True
    weights = np.where(labels, 1.0 / n, -1.0 / (total - n))
    stats = np.einsum("ij,ij->j", weights, kernel @ weights)
    observed = float(stats[0])
    exceed = int(np.sum(stats[1:] >= observed))
    p_value = (1.0 + exceed) / (1.0 + permutations)
    if exceed == 0:
        # The permutation p-value cannot go below 1/(P+1), which a Bonferroni
        # family of m tests would never reject once m > alpha * (P+1). Beyond the
        # permutations, take the tail of a gamma fitted to them by moments
        # (Gretton et al., 2009), never above the permutation bound.
        p_value = min(p_value, _gamma_tail(stats[1:], observed))
    return observed, p_value


def _gamma_tail(null: FloatArray, observed: float) -> float:
    from scipy.stats import gamma

    mean, var = float(np.mean(null)), float(np.var(null))
    if mean <= 0 or var <= 0:
        return 1.0
    return float(gamma.sf(observed, a=mean**2 / var, scale=var / mean))


def classifier_auc_test(
    reference: FloatArray, current: FloatArray, *, seed: int = 0
) -> tuple[float, float]:
    """Held-out AUC of a reference-vs-current classifier and its one-sided p-value."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    x = _subsample(reference, CLASSIFIER_MAX_PER_SIDE, rng)
    y = _subsample(current, CLASSIFIER_MAX_PER_SIDE, rng)
    data = np.vstack([x, y])
    target = np.concatenate([np.zeros(x.shape[0]), np.ones(y.shape[0])])
    fold = rng.permutation(data.shape[0]) % 2
    scores = np.empty(data.shape[0])
    for k in (0, 1):
        train, test = fold != k, fold == k
        clf = LogisticRegression(max_iter=200)
        clf.fit(data[train], target[train])
        scores[test] = clf.decision_function(data[test])
    auc = float(roc_auc_score(target, scores))
    n1, n2 = x.shape[0], y.shape[0]
    z = (auc - 0.5) / math.sqrt((n1 + n2 + 1) / (12.0 * n1 * n2))
    return auc, 0.5 * math.erfc(z / math.sqrt(2.0))
