"""Synthetic feature tables shaped like real ones (image features + model outputs)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from driftloop.constants import CLASSES


def synthetic_features(
    n: int,
    seed: int = 0,
    *,
    brightness: float = 1.0,
    class_shares: tuple[float, ...] = (0.25, 0.25, 0.25, 0.25),
    with_model: bool = True,
    embedding_dim: int = 24,
) -> pd.DataFrame:
    """A feature table: ids, numerical and categorical image features, model outputs."""
    rng = np.random.default_rng(seed)
    label = rng.choice(len(CLASSES), size=n, p=np.asarray(class_shares) / sum(class_shares))
    lesion = np.where(label == 2, 0.0, rng.gamma(2.0, 0.02, n))
    mean = rng.normal(60, 8, n) * brightness + 40 * lesion
    df = pd.DataFrame(
        {
            "uri": [f"mem://img/{i}.jpg" for i in range(n)],
            "sha256": [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(n)],
            "width": np.full(n, 256),
            "format": rng.choice(["JPEG", "PNG"], size=n, p=[0.8, 0.2]),
            "mean": mean,
            "std": rng.normal(40, 5, n) * brightness,
            "p50": mean * 0.8 + rng.normal(0, 3, n),
            "p99": np.minimum(255, mean * 2.5 + rng.normal(0, 10, n)),
            "sharpness": rng.lognormal(3, 0.3, n),
            "noise_sigma": rng.gamma(4, 0.5, n),
            "foreground_fraction": rng.beta(20, 12, n),
            "lesion_fraction": lesion,
        }
    )
    if with_model:
        logits = rng.normal(0, 1, (n, len(CLASSES)))
        logits[np.arange(n), label] += 2.5
        prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        top2 = np.sort(prob, axis=1)[:, -2:]
        for j, c in enumerate(CLASSES):
            df[f"prob_{c}"] = prob[:, j]
        df["pred_class"] = [CLASSES[k] for k in prob.argmax(axis=1)]
        df["confidence"] = top2[:, 1]
        df["margin"] = top2[:, 1] - top2[:, 0]
        df["softmax_entropy"] = -(prob * np.log(prob)).sum(axis=1)
        centres = np.random.default_rng(99).normal(0, 1, (len(CLASSES), embedding_dim))
        emb = centres[label] + rng.normal(0, 1.0, (n, embedding_dim)) * brightness
        df["embedding"] = list(emb.astype(np.float32))
    return df


@pytest.fixture
def make_features():
    return synthetic_features
