"""Report inputs built by hand: feature tables, a drifted DriftResult and real JPEGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw, ImageFilter

from driftloop.constants import CLASSES
from driftloop.results import DriftResult, FeatureDrift

NUMERICAL = [
    "mean",
    "std",
    "rms_contrast",
    "entropy",
    "skewness",
    "kurtosis",
    "sharpness",
    "noise",
    "jpeg_quality",
    "foreground_fraction",
]


def brain_jpeg(path: Path, rng: np.random.Generator, *, brightness: float, blur: float) -> None:
    """A small greyscale 'axial slice': skull ring, brain ellipse, a bright lesion."""
    size = 72
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse((6, 4, size - 6, size - 4), fill=int(200 * brightness))
    draw.ellipse((10, 8, size - 10, size - 8), fill=int(110 * brightness))
    cx, cy = rng.integers(22, 50, size=2)
    draw.ellipse((cx - 6, cy - 5, cx + 6, cy + 5), fill=int(min(250, 220 * brightness)))
    arr = np.asarray(img, dtype=float) + rng.normal(0, 8, (size, size))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    img.save(path, "JPEG", quality=85)


def feature_frame(
    n: int, rng: np.random.Generator, *, shift: float, folder: Path | None = None
) -> pd.DataFrame:
    """A feature table; ``shift`` > 0 brightens, blurs and adds noise (the drift)."""
    data: dict[str, Any] = {
        "mean": rng.normal(60 + 25 * shift, 8, n),
        "std": rng.normal(45, 5, n),
        "rms_contrast": rng.normal(0.7, 0.05, n),
        "entropy": rng.normal(5.5 + 0.1 * shift, 0.3, n),
        "skewness": rng.normal(1.2, 0.2, n),
        "kurtosis": rng.normal(3.0, 0.5, n),
        "sharpness": rng.normal(120 - 60 * shift, 15, n),
        "noise": rng.normal(4 + 3 * shift, 0.8, n),
        "jpeg_quality": rng.normal(88, 3, n),
        "foreground_fraction": rng.normal(0.45, 0.04, n),
        "format": rng.choice(["JPEG", "PNG"], n, p=[0.9, 0.1]),
        "pred_class": rng.choice(
            list(CLASSES), n, p=[0.2, 0.2, 0.5, 0.1] if shift else [0.25, 0.25, 0.25, 0.25]
        ),
        "confidence": np.clip(rng.beta(8 - 4 * shift, 2, n), 0.25, 1.0),
    }
    frame = pd.DataFrame(data)
    for cls in CLASSES:
        frame[f"prob_{cls}"] = rng.dirichlet(np.ones(len(CLASSES)), n)[:, 0]
    uris = []
    for i in range(n):
        if folder is None:
            uris.append(f"/data/reference/img_{i:04d}.jpg")
            continue
        path = folder / f"img_{i:04d}.jpg"
        strong = i % 5 == 0
        brain_jpeg(path, rng, brightness=1.5 if strong else 1.0, blur=2.5 if strong else 0)
        if strong:  # the images drawn atypical are also atypical in the table
            frame.loc[i, "mean"] += 60
            frame.loc[i, "sharpness"] -= 80
        uris.append(str(path))
    frame.insert(0, "sha256", [f"{i:064x}" for i in range(n)])
    frame.insert(0, "uri", uris)
    return frame


def drift_result(*, severity: str = "high", logical_date: str = "2026-11-08") -> DriftResult:
    """A result as the engine would write it for the frames above."""
    drifted = severity in ("low", "medium", "high")
    rows = [
        FeatureDrift("mean", "ks", 0.62, 1e-12, 0.005, drifted, effect_size=2.9),
        FeatureDrift("sharpness", "ks", 0.71, 1e-15, 0.005, drifted, effect_size=3.6),
        FeatureDrift("noise", "wasserstein", 0.41, None, 0.1, drifted, effect_size=2.4),
        FeatureDrift("entropy", "ks", 0.18, 0.004, 0.005, drifted, effect_size=0.35),
        FeatureDrift("std", "ks", 0.06, 0.61, 0.005, False, effect_size=0.05),
        FeatureDrift("kurtosis", "psi", 0.03, None, 0.2, False, effect_size=0.02),
        FeatureDrift("jpeg_quality", "jensenshannon", 0.02, None, 0.1, False, effect_size=0.01),
        FeatureDrift(
            "format", "chisquare", 1.2, 0.27, 0.005, False, effect_size=0.03, kind="categorical"
        ),
        FeatureDrift(
            "pred_class",
            "chisquare",
            30.1,
            1e-6,
            0.005,
            drifted,
            effect_size=0.31,
            kind="categorical",
            group="model",
        ),
        FeatureDrift("confidence", "ks", 0.44, 1e-9, 0.005, drifted, 1.7, group="model"),
        FeatureDrift("embedding", "mmd", 0.08, 0.01, 0.005, False, 0.4, group="embedding"),
    ]
    if not drifted:
        rows = [FeatureDrift(**{**r.to_dict(), "drifted": False}) for r in rows]
    return DriftResult(
        drift_detected=drifted,
        severity=severity,  # type: ignore[arg-type]
        severity_rule="high: >= 3 image features drifted or any model output drifted",
        n_reference=200,
        n_current=60,
        n_quarantined=2,
        features=tuple(rows),
        baseline_version="b-2026-11-01",
        model_version="m-20261030-01",
        logical_date=logical_date,
        created_at=f"{logical_date}T06:00:00+00:00",
    )


@pytest.fixture
def reference_df() -> pd.DataFrame:
    return feature_frame(200, np.random.default_rng(1), shift=0.0)


@pytest.fixture
def current_df(tmp_path: Path) -> pd.DataFrame:
    folder = tmp_path / "production"
    folder.mkdir()
    return feature_frame(60, np.random.default_rng(2), shift=1.0, folder=folder)


@pytest.fixture
def quarantined(tmp_path: Path) -> list[dict[str, str]]:
    return quarantined_files(tmp_path)


def quarantined_files(root: Path) -> list[dict[str, str]]:
    """Two bad files on disk and their quarantine reasons."""
    bad = root / "bad"
    bad.mkdir()
    (bad / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    (bad / "notes.txt").write_text("not an image")
    return [
        {
            "uri": str(bad / "truncated.jpg"),
            "reason_code": "decode_error",
            "reason": "image file is truncated (cannot decode)",
        },
        {"uri": str(bad / "notes.txt"), "reason_code": "not_image", "reason": "not an image file"},
    ]


@pytest.fixture
def result() -> DriftResult:
    return drift_result()


WEEK = [
    ("2026-11-01", "none", 0.0),
    ("2026-11-02", "none", 0.1),
    ("2026-11-03", "low", 0.4),
    ("2026-11-04", "none", 0.1),
    ("2026-11-05", "insufficient_data", 0.0),
    ("2026-11-06", "medium", 0.6),
    ("2026-11-07", "high", 0.9),
    ("2026-11-08", "high", 1.0),
    ("2026-11-09", "medium", 0.7),
    ("2026-11-10", "low", 0.3),
]


def scaled_result(day: str, severity: str, strength: float) -> DriftResult:
    """The drifted result with every effect size scaled by ``strength``."""
    base = drift_result(severity=severity, logical_date=day)
    rows = tuple(
        FeatureDrift(
            **{
                **f.to_dict(),
                "effect_size": round((f.effect_size or 0.0) * max(strength, 0.05), 3),
                "drifted": f.drifted
                and f.effect_size is not None
                and f.effect_size * strength > 0.3,
            }
        )
        for f in base.features
    )
    import dataclasses

    return dataclasses.replace(base, features=rows)


def make_history(store: Any, db: Any) -> list[DriftResult]:
    """Ten days of runs: database rows plus each day's drift.json and summary page."""
    import datetime as dt

    from driftloop.reports.summary import render_summary_html
    from driftloop.storage.artifacts import Layout
    from driftloop.storage.models import MonitoringRun

    layout = Layout(store)
    reference = feature_frame(200, np.random.default_rng(1), shift=0.0)
    results = []
    for i, (day, severity, strength) in enumerate(WEEK):
        res = scaled_result(day, severity, strength)
        current = feature_frame(40, np.random.default_rng(10 + i), shift=strength)
        folder = layout.report_dir(day)
        store.write_text(folder + "/drift.json", res.to_json())
        page = render_summary_html(
            res, current_df=current, reference_df=reference, top_features=4, thumbnails=0
        )
        store.write_text(folder + "/index.html", page)
        with db.session() as session:
            session.add(
                MonitoringRun(
                    run_key=f"image_drift_monitor__{day}",
                    logical_date=dt.date.fromisoformat(day),
                    status="success",
                    severity=severity,
                    drift_detected=res.drift_detected,
                    n_accepted=res.n_current,
                    n_quarantined=res.n_quarantined,
                    model_version=res.model_version,
                    baseline_version=res.baseline_version,
                    report_uri=folder,
                )
            )
        results.append(res)
    return results
