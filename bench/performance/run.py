"""How well CBPE estimates accuracy without labels, on the demo production days.

A real small Keras model is trained on the demo's train/ folder; the
temperature calibrator is fitted on reference/; then for every production
day the realised accuracy (labels.csv), the CBPE estimate and a naive
estimate (mean uncalibrated top-class confidence) are computed. The baseline
measured in the same run is the naive estimate: the script prints
MAE(CBPE) / MAE(naive) on the clean days, and writes results.md.

    .venv/bin/python bench/performance/run.py                 # small data, 21 days
    .venv/bin/python bench/performance/run.py --size tiny --epochs 2 --no-write
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

HERE = Path(__file__).resolve().parent
CLEAN_CONTENT = {"clean", "dirty", "dicom"}  # dirty/dicom days: clean images (+ bad files)


def get_data(data: Path, size: str, days: int, seed: int) -> Path:
    from driftloop.demo import generate_dataset

    if not (data / "labels.csv").exists():
        print(f"generating demo data ({size}, {days} days) in {data} ...", flush=True)
        generate_dataset(data, seed=seed, size=size, days=days, workers=1)
    return data


def production_days(data: Path) -> dict[str, list[tuple[Path, str]]]:
    days: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    with open(data / "labels.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            parts = row["file"].split("/")
            if parts[0] == "production" and row["class"]:
                days[parts[1]].append((data / row["file"], row["class"]))
    return dict(sorted(days.items()))


def predict(model: Any, files: list[Path]) -> np.ndarray:
    from driftloop.errors import DriftloopError
    from driftloop.features import load_image

    arrays, keep = [], []
    for i, f in enumerate(files):
        try:
            arrays.append(load_image(f)[0])
            keep.append(i)
        except DriftloopError:
            continue
    probs = np.asarray(model.predict_arrays(arrays).probabilities, np.float64)
    out = np.full((len(files), probs.shape[1]), np.nan)
    out[keep] = probs
    return out


def run_config(
    data: Path, scenarios: dict[str, Any], work: Path, epochs: int, image_size: int, tag: str
) -> dict[str, Any]:
    """Train (or reuse) one model, calibrate it, and score every production day."""
    from driftloop.constants import CLASSES
    from driftloop.model import load_model, train
    from driftloop.model.data import list_labelled, load_labelled
    from driftloop.performance.calibration import fit_temperature
    from driftloop.performance.cbpe import estimate_performance
    from driftloop.performance.metrics import realised_performance

    model_dir = work / f"model-{tag}-e{epochs}-s{image_size}"
    if not (model_dir / "model.keras").exists():
        print(f"training a small_cnn for {epochs} epochs ...", flush=True)
        train(
            data / "train",
            str(model_dir),
            epochs=epochs,
            image_size=image_size,
            batch_size=32,
            seed=1234,
        )
    model = load_model(str(model_dir))
    ref_files = list_labelled(data / "reference", classes=model.classes)
    x, y = load_labelled(ref_files, model.image_size, model.classes)
    ref_probs = np.asarray(model.predict_arrays(list(x[..., 0])).probabilities, np.float64)
    cal = fit_temperature(ref_probs, y, CLASSES, model_version=model.version)

    rows = []
    for day, items in production_days(data).items():
        probs = predict(model, [f for f, _ in items])
        ok = np.isfinite(probs).all(axis=1)
        labels = np.array([CLASSES.index(c) for _, c in items])[ok]
        probs = probs[ok]
        real = realised_performance(labels, probs, CLASSES, min_labels=1, resamples=50)
        est = estimate_performance(probs, CLASSES, cal, min_predictions=1)
        rows.append(
            {
                "day": day,
                "scenario": scenarios[day]["scenario"],
                "n": int(ok.sum()),
                "realised": real.value("accuracy"),
                "ci": real.intervals["accuracy"],
                "cbpe": est.value("accuracy"),
                "naive": float(probs.max(axis=1).mean()),
                "correct": int((probs.argmax(1) == labels).sum()),
                "sum_cbpe": float(cal.transform(probs).max(axis=1).sum()),
                "sum_naive": float(probs.max(axis=1).sum()),
            }
        )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups["clean" if r["scenario"] in CLEAN_CONTENT else r["scenario"]].append(r)
    clean = groups["clean"]
    mae_cbpe = float(np.mean([abs(r["cbpe"] - r["realised"]) for r in clean]))
    mae_naive = float(np.mean([abs(r["naive"] - r["realised"]) for r in clean]))
    n_clean = sum(r["n"] for r in clean)
    pooled = (
        sum(r["correct"] for r in clean) / n_clean,
        sum(r["sum_cbpe"] for r in clean) / n_clean,
        sum(r["sum_naive"] for r in clean) / n_clean,
        n_clean,
    )
    ratio = mae_cbpe / mae_naive if mae_naive else float("nan")
    print(
        f"[{epochs} epochs] reference accuracy {float((ref_probs.argmax(1) == y).mean()):.3f}; "
        f"temperature {cal.temperature:.3f}; ECE {cal.ece_before:.4f} -> {cal.ece_after:.4f}"
    )
    print(f"{'day':<11} {'scenario':<15} {'n':>3} {'realised':>8} {'cbpe':>6} {'naive':>6}")
    for r in rows:
        print(
            f"{r['day']:<11} {r['scenario']:<15} {r['n']:>3} {r['realised']:>8.3f} "
            f"{r['cbpe']:>6.3f} {r['naive']:>6.3f}"
        )
    print(
        f"[{epochs} epochs] clean days: MAE cbpe {mae_cbpe:.4f} vs naive (baseline) "
        f"{mae_naive:.4f}; ratio {ratio:.2f} (< 1 means CBPE is better)"
    )
    return {
        "epochs": epochs,
        "image_size": image_size,
        "rows": rows,
        "groups": groups,
        "cal": cal,
        "ref_acc": float((ref_probs.argmax(1) == y).mean()),
        "ratio": ratio,
        "mae_cbpe": mae_cbpe,
        "mae_naive": mae_naive,
        "pooled": pooled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("/tmp/driftloop-bench-performance"))
    parser.add_argument("--data", type=Path, help="demo data folder (generated when missing)")
    parser.add_argument("--size", default="small", choices=["tiny", "small"])
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument(
        "--epochs",
        type=int,
        nargs="+",
        default=[20, 8],
        help="one model per value; the first is the headline",
    )
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="do not write results.md")
    args = parser.parse_args()

    started = time.perf_counter()
    tag = f"{args.size}-{args.days}"
    data = get_data(args.data or args.work / f"data-{tag}", args.size, args.days, args.seed)
    scenarios = json.loads((data / "scenarios.json").read_text())
    configs = [run_config(data, scenarios, args.work, e, args.image_size, tag) for e in args.epochs]
    total = time.perf_counter() - started
    if not args.no_write:
        write_results(args, configs, total)
    return 0 if configs[0]["mae_cbpe"] < configs[0]["mae_naive"] else 1


def findings(groups: dict[str, list[dict[str, Any]]], clean_mae: float) -> list[str]:
    """One line per drift scenario: is CBPE off by more than on clean days, and which way."""
    out = []
    for g in sorted(g for g in groups if g != "clean"):
        rs = groups[g]
        bias = float(np.mean([r["cbpe"] - r["realised"] for r in rs]))
        err = float(np.mean([abs(r["cbpe"] - r["realised"]) for r in rs]))
        naive = float(np.mean([abs(r["naive"] - r["realised"]) for r in rs]))
        verdict = "FAILS" if err > max(2 * clean_mae, 0.08) else "holds"
        way = "over-estimates" if bias > 0 else "under-estimates"
        out.append(
            f"- **{g}**: {verdict} — CBPE {way} accuracy by {abs(bias):.3f} on average "
            f"(MAE {err:.3f} vs {clean_mae:.3f} on clean days; naive MAE {naive:.3f})."
        )
    return out


def config_section(c: dict[str, Any], heading: str) -> list[str]:
    cal, pooled, groups = c["cal"], c["pooled"], c["groups"]
    lines = [
        f"## {heading}",
        "",
        f"`small_cnn`, {c['epochs']} epochs at {c['image_size']} px on `train/`; reference "
        f"accuracy {c['ref_acc']:.3f}. Temperature {cal.temperature:.3f} fitted on "
        f"`reference/` ({cal.n_reference} images): ECE {cal.ece_before:.4f} -> "
        f"{cal.ece_after:.4f}, NLL {cal.nll_before:.4f} -> {cal.nll_after:.4f}.",
        "",
        f"**Clean days: MAE(CBPE) / MAE(naive) = {c['ratio']:.2f}** "
        f"({c['mae_cbpe']:.4f} vs {c['mae_naive']:.4f}; < 1 means CBPE is closer to the "
        f"realised accuracy). Pooled over all clean-day images (n={pooled[3]}): realised "
        f"{pooled[0]:.3f}, CBPE {pooled[1]:.3f}, naive {pooled[2]:.3f}.",
        "",
        "| group | days | MAE CBPE | MAE naive | mean realised | mean CBPE | mean naive |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g in ["clean", *sorted(g for g in groups if g != "clean")]:
        rs = groups[g]
        m = {k: float(np.mean([r[k] for r in rs])) for k in ("realised", "cbpe", "naive")}
        e = {k: float(np.mean([abs(r[k] - r["realised"]) for r in rs])) for k in ("cbpe", "naive")}
        lines.append(
            f"| {g} | {len(rs)} | {e['cbpe']:.3f} | {e['naive']:.3f} | "
            f"{m['realised']:.3f} | {m['cbpe']:.3f} | {m['naive']:.3f} |"
        )
    lines += [
        "",
        "| day | scenario | n | realised [95 % CI] | CBPE | naive | CBPE - realised |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in c["rows"]:
        lo, hi = r["ci"]
        lines.append(
            f"| {r['day']} | {r['scenario']} | {r['n']} | {r['realised']:.3f} "
            f"[{lo:.3f}, {hi:.3f}] | {r['cbpe']:.3f} | {r['naive']:.3f} | "
            f"{r['cbpe'] - r['realised']:+.3f} |"
        )
    lines += ["", "Scenarios:", "", *findings(groups, c["mae_cbpe"]), ""]
    return lines


def write_results(args: argparse.Namespace, configs: list[dict[str, Any]], total: float) -> None:
    lines = [
        "# Performance estimation benchmark: CBPE vs naive confidence vs realised accuracy",
        "",
        f"Generated by `bench/performance/run.py --epochs {' '.join(map(str, args.epochs))}` "
        f"(Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        "**machine shared with ~8 other engineers at the time**; wall time "
        f"{total:.0f} s, models cached between runs). Data: demo `generate_dataset(size="
        f"'{args.size}', days={args.days}, seed={args.seed})`: days 1-4 and 14-{args.days} "
        "clean, one drift scenario a day on days 5-11, dirty (clean images + bad files) on "
        "day 12, DICOM (clean content) on day 13; 40 labelled images a day.",
        "",
        "Realised = accuracy on the day's labelled images (labels.csv), 95 % Wilson interval. "
        "CBPE = mean calibrated top-class probability (`estimate_performance`). Naive "
        "(the baseline measured in the same run) = mean uncalibrated top-class confidence. "
        "Clean group = clean, dirty and dicom days (their image content is clean); bad files "
        "are not images and are left out. With 40 images a day the realised accuracy has a "
        "sampling error of about ±0.06 (95 %), so per-day errors below that are noise for "
        "any estimator; the pooled clean numbers are less noisy.",
        "",
    ]
    names = ["Headline model", *["Second model"] * (len(configs) - 1)]
    for c, name in zip(configs, names, strict=True):
        lines += config_section(c, f"{name}: {c['epochs']} epochs")
    lines += [
        "## Reading",
        "",
        "Calibration is what CBPE adds over the naive estimate, so it helps exactly as much "
        "as the model is mis-calibrated on the reference set. A model trained to "
        "convergence is over-confident (temperature well above 1) and there CBPE's error "
        "on clean days is a fraction of the naive one; a short-trained model that happens "
        "to be calibrated already (temperature near 1) leaves nothing to correct, and the "
        "two estimates are equal within the per-day noise.",
        "",
        "Limits of this evidence: each scenario is one day of 40 images, so a scenario "
        "error below about 0.06 cannot be told from noise, and a 'FAILS' or 'holds' verdict "
        "above is one observation, not a rate. At the demo strengths most scenarios move "
        "this model's accuracy little, so they test the estimate weakly; where accuracy did "
        "drop (blur, scanner change), the calibrated estimate followed it. CBPE is still "
        "known to break when the calibration learnt on the reference set stops holding: "
        "under class-prior shift (the same confidences, a different mix of easy and hard "
        "classes) and under new artefacts or acquisition changes (confidently wrong on "
        "unseen inputs). Clean production days here are also somewhat harder than the "
        "reference set (pooled realised accuracy below the reference accuracy), which "
        "shows up as a small under-estimate. Read a breach of the estimate as a reason to "
        "collect labels, and read it beside the drift result of the same run "
        "(docs/performance.md).",
        "",
    ]
    out = HERE / "results.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
