"""Feature pools for bench/detection: one pipeline for every image, cached as parquet.

Every image, whatever pool it lands in, takes the same path:

    render_case (uint8, 256 px)  ->  shift(kind, strength)  ->  JPEG encode (q92, or the
    scenario's quality)  ->  file  ->  driftloop.features decode + image features
    ->  model features from the same decoded pixels (driftloop.model.load_model)

The baseline and the clean pool use the identity shift (``scenarios.apply(..., "clean")``),
and every scenario also has an identity-strength pool (brightness x1.0, contrast x1.0,
noise sigma 0, blur radius 0, downscale x1.0, JPEG q92) produced by that scenario's own
code path, so a processing artefact would show up as detections of the identity pool.

Pools land in ``var/bench/detection/pools/<key>/<name>.parquet``, the key hashing the
sizes, the model and the source of the feature/demo/pool code; the model trained for the
bench in ``var/bench/detection/model``. Reruns reuse both and build only missing pools.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "bench" / "detection"
CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
BASE_QUALITY = 92
# Bump when the pipeline below changes, so cached pools are rebuilt.
PIPELINE_VERSION = 4
log = logging.getLogger("bench.detection")


@dataclass(frozen=True)
class Shift:
    """One scenario of the issue: its pixel transform, identity strength and ladder."""

    kind: str
    identity: float
    ladder: tuple[float, ...]  # weakest first; the last one is the strength
    unit: str


# The moderate shifts. Each ladder starts below where detection fades (so the
# weakest detected strength is bracketed) and ends at the strength.
SCENARIOS: dict[str, Shift] = {
    "brightness x1.15": Shift("brightness", 1.0, (1.01, 1.02, 1.04, 1.08, 1.15), "factor"),
    "contrast x0.8": Shift("contrast", 1.0, (0.998, 0.995, 0.99, 0.98, 0.9, 0.8), "factor"),
    "Gaussian noise sigma 8": Shift("gauss_noise", 0.0, (0.25, 0.5, 1.0, 2.0, 8.0), "grey levels"),
    "Gaussian blur radius 1.5": Shift("gauss_blur", 0.0, (0.25, 0.35, 0.5, 1.0, 1.5), "px"),
    # 0.996 is the smallest possible change at 256 px: down to 255 px and back.
    "downscale x0.5 and back": Shift(
        "resolution", 1.0, (0.996, 0.99, 0.98, 0.95, 0.9, 0.5), "factor"
    ),
    "JPEG quality 30": Shift("jpeg_quality", 92.0, (91.0, 90.0, 85.0, 50.0, 30.0), "quality"),
    # Factor on the tumour share of a 30%-tumour reference (2.0 = 60%): see run.py.
    "tumour share doubled (30% -> 60%)": Shift(
        "tumour_share", 1.0, (1.1, 1.25, 1.5, 1.75, 2.0), "x share"
    ),
}
PIXEL_KINDS = tuple(s.kind for s in SCENARIOS.values() if s.kind != "tumour_share")


@dataclass(frozen=True)
class Sizes:
    """How many images each pool holds."""

    reference: int = 1200  # balanced, 300 per class: the main baseline
    extra_notumor: int = 400  # notumor-only, for the 30%-tumour baseline
    clean: int = 3200  # balanced held-out clean pool (false alarms, class-mix draws)
    shifted: int = 600  # held-out sources (the first images of the clean pool) per shifted pool

    def key(self, model_version: str) -> str:
        text = json.dumps(
            [PIPELINE_VERSION, self.__dict__, model_version, code_fingerprint()], sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# The code a pool's numbers depend on. The features are being developed alongside
# this bench: a change to any of these files must rebuild every pool, or old and
# new feature code would mix between pools (an asymmetry the identity rows would
# not reveal by bytes alone).
_CODE = (
    "src/driftloop/features/compute.py",
    "src/driftloop/features/image.py",
    "src/driftloop/features/catalog.py",
    "src/driftloop/features/model_features.py",
    "src/driftloop/demo/cases.py",
    "src/driftloop/demo/anatomy.py",
    "src/driftloop/demo/lesions.py",
    "src/driftloop/demo/scenarios.py",
    "bench/detection/pools.py",
)


def code_fingerprint() -> str:
    """sha256 (12 hex) over the source of the feature, demo and pool code."""
    digest = hashlib.sha256()
    for rel in _CODE:
        digest.update((ROOT / rel).read_bytes())
    return digest.hexdigest()[:12]


def shift_pixels(
    image: np.ndarray, kind: str, strength: float, rng: np.random.Generator
) -> np.ndarray:
    """The 8-bit image after one scenario at ``strength`` (identity strength -> same pixels)."""
    from PIL import Image, ImageFilter

    from driftloop.demo.scenarios import apply

    if kind in ("brightness", "contrast", "resolution"):
        return apply(image, kind, strength, rng)
    if kind == "gauss_noise":
        # Additive Gaussian noise, as the issue asks (the demo's "noise" is Rician).
        noisy = (
            image.astype(np.float32) + rng.standard_normal(image.shape, dtype=np.float32) * strength
        )
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if kind == "gauss_blur":
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(strength)))
    # clean, jpeg_quality (acts at encode time), tumour_share (acts on the mix of images)
    return apply(image, "clean", 0.0, rng)


# --- worker side ---------------------------------------------------------------------------

_TMP: str | None = None


def _tmp_path() -> str:
    global _TMP
    if _TMP is None:
        _TMP = tempfile.mkdtemp(prefix="bench-detection-")
    return os.path.join(_TMP, f"{os.getpid()}.jpg")


def process(job: tuple[Any, str, str, float, int, bool]) -> tuple[dict[str, Any], np.ndarray, Any]:
    """Render (or take) one source image, shift it, encode it, extract its image features."""
    from driftloop.demo.cases import render_case
    from driftloop.demo.scenarios import encode_jpeg
    from driftloop.features.compute import features_of
    from driftloop.features.image import load_working

    source, cls, kind, strength, noise_seed, keep = job
    image = (
        render_case(cls, np.random.default_rng(source), 256)[0]
        if isinstance(source, tuple)
        else source
    )
    shifted = shift_pixels(image, kind, strength, np.random.default_rng(noise_seed))
    data = encode_jpeg(shifted, int(strength) if kind == "jpeg_quality" else BASE_QUALITY)
    path = _tmp_path()
    Path(path).write_bytes(data)
    work = load_working(path, 128, "JPEG")  # features.working_size and model.image_size: 128
    row = {"sha256": hashlib.sha256(data).hexdigest(), **features_of(work, len(data)), "label": cls}
    return row, work.pixels.copy(), image if keep else None


# --- parent side ---------------------------------------------------------------------------


def ensure_model() -> str:
    """The bench's classifier: small_cnn on the demo 'small' train/ split, trained once, cached."""
    model_dir = VAR / "model"
    if (model_dir / "model.keras").exists():
        return str(model_dir)
    from driftloop.model import train

    ensure_model_data_only()
    demo = VAR / "demo-small"
    t0 = time.perf_counter()
    result = train(demo / "train", model_dir, arch="small_cnn", epochs=8, image_size=128, seed=1234)
    acc, auc = result.metrics["accuracy"], result.metrics["macro_auc"]
    print(
        f"small_cnn trained in {time.perf_counter() - t0:.0f}s: held-out accuracy {acc:.3f}, macro AUC {auc:.3f}",
        flush=True,
    )
    return str(model_dir)


def model_columns(model: Any, arrays: list[np.ndarray]) -> pd.DataFrame:
    """The model columns of the feature table (as driftloop.features writes them) for ``arrays``."""
    from driftloop.features.model_features import softmax_summary

    pred = model.predict_arrays(arrays, batch_size=64)
    probs = np.asarray(pred.probabilities, dtype=np.float64)
    margin, entropy = softmax_summary(probs)
    cols: dict[str, Any] = {
        "pred_class": list(pred.pred_class),
        "confidence": np.asarray(pred.confidence, dtype=np.float64),
        "margin": margin,
        "softmax_entropy": entropy,
    }
    for k, name in enumerate(model.classes):
        cols[f"prob_{name}"] = probs[:, k]
    cols["embedding"] = [e.astype(np.float32).tolist() for e in np.asarray(pred.embeddings)]
    return pd.DataFrame(cols)


def _finish(results: Any, model: Any, n: int) -> tuple[pd.DataFrame, list[np.ndarray]]:
    rows, arrays, sources = [], [], []
    for row, arr, src in results:
        rows.append(row)
        arrays.append(arr)
        if src is not None:
            sources.append(src)
    if len(rows) != n:
        raise RuntimeError(f"expected {n} processed images, got {len(rows)}")
    table = pd.concat([pd.DataFrame(rows), model_columns(model, arrays)], axis=1)
    return table, sources


def pool_dir(sizes: Sizes, model_version: str) -> Path:
    return VAR / "pools" / sizes.key(model_version)


def model_version(model_uri: str) -> str:
    """A content hash of the cached model (its folder name says nothing)."""
    return hashlib.sha256((Path(model_uri) / "model.keras").read_bytes()).hexdigest()[:12]


def ensure_model_data_only() -> None:
    """Generate the demo train split (forks its own workers) before TensorFlow is loaded."""
    from driftloop.demo import generate_dataset

    demo = VAR / "demo-small"
    if not (demo / "train").exists():
        t0 = time.perf_counter()
        generate_dataset(demo, seed=0, size="small", days=1, workers=2, progress=False)
        print(f"demo 'small' data set generated in {time.perf_counter() - t0:.0f}s", flush=True)


def _plain_jobs(sizes: Sizes) -> dict[str, list[Any]]:
    ref = [((2026, 1, i), CLASSES[i % 4], "clean", 0.0, 0, False) for i in range(sizes.reference)]
    extra = [((2026, 2, i), "notumor", "clean", 0.0, 0, False) for i in range(sizes.extra_notumor)]
    clean = [((2026, 3, i), CLASSES[i % 4], "clean", 0.0, 0, False) for i in range(sizes.clean)]
    return {"reference": ref, "extra_notumor": extra, "clean": clean}


def build_pools(pool: Any, sizes: Sizes) -> tuple[Path, dict[str, Any]]:
    """Every pool as parquet under ``pool_dir``, using ``pool``'s workers; (folder, facts).

    A pool whose parquet file exists is reused, so changing a ladder builds only
    the new rungs. ``pool`` must have been forked before TensorFlow was imported
    (the parent loads the model; the workers only render, shift, encode and measure).
    """
    t0 = time.perf_counter()
    model_uri = ensure_model()
    from driftloop.model import load_model

    model = load_model(model_uri)
    version = model_version(model_uri)
    out = pool_dir(sizes, version)
    out.mkdir(parents=True, exist_ok=True)
    metrics = json.loads((Path(model_uri) / "metrics.json").read_text())
    facts: dict[str, Any] = {"model_uri": model_uri, "model_version": version, "built": []}
    facts["code_fingerprint"] = code_fingerprint()
    facts["model_accuracy"], facts["model_auc"] = metrics["accuracy"], metrics["macro_auc"]
    jobs = {k: v for k, v in _plain_jobs(sizes).items() if not (out / f"{k}.parquet").exists()}
    shifted = [
        (si, name, sc, strength)
        for si, (name, sc) in enumerate(SCENARIOS.items())
        if sc.kind != "tumour_share"
        for strength in (sc.identity, *sc.ladder)
        if not (out / f"{pool_name(sc.kind, strength)}.parquet").exists()
    ]
    if shifted:  # the shifted pools' sources: the first clean-pool renders again
        jobs["sources"] = _plain_jobs(Sizes(clean=sizes.shifted))["clean"]
        jobs["sources"] = [(*j[:5], True) for j in jobs["sources"]]
    sources: list[np.ndarray] = []
    for name, js in jobs.items():
        table, srcs = _finish(pool.imap(process, js, chunksize=16), model, len(js))
        sources += srcs
        if name != "sources":
            table.to_parquet(out / f"{name}.parquet")
            facts["built"].append(name)
            print(f"pool {name}: {len(table)} images ({time.perf_counter() - t0:.0f}s)", flush=True)
    labels = [CLASSES[i % 4] for i in range(sizes.shifted)]
    for _, name, sc, strength in shifted:
        # Noise depends on the pool's name only, not on where it sits in a ladder.
        seed = zlib.crc32(pool_name(sc.kind, strength).encode()) * 10_000
        js = [(src, labels[i], sc.kind, strength, seed + i, False) for i, src in enumerate(sources)]
        table, _ = _finish(pool.imap(process, js, chunksize=16), model, len(js))
        table.to_parquet(out / f"{pool_name(sc.kind, strength)}.parquet")
        facts["built"].append(pool_name(sc.kind, strength))
        print(
            f"pool {pool_name(sc.kind, strength)} ({name}): {len(js)} images ({time.perf_counter() - t0:.0f}s)",
            flush=True,
        )
    facts["build_seconds"] = round(time.perf_counter() - t0, 1)
    return out, facts


def pool_name(kind: str, strength: float) -> str:
    return f"{kind}@{strength:g}"
