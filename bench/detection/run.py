"""Calibration of the drift decision: false alarms and power on demo brain-MRI images.

Pools of feature rows are built once (``pools.py``: every image, baseline, clean
or shifted, goes through the same render -> shift -> JPEG -> decode -> features ->
model path) and cached as parquet under ``var/bench/detection/``. Each draw samples
a current table from a pool and runs ``driftloop.drift.compare`` with the default
settings (KS / chi-squared at alpha 0.05, Bonferroni across the whole family of
tests): nothing here is tuned to the synthetic images.

Two families are measured: image features only, and image + model tests
(``prediction`` KS-Bonferroni over the softmax outputs, ``confidence`` KS,
``class_distribution`` chi-squared, ``embedding`` MMD permutation test).

    .venv/bin/python bench/detection/run.py            # writes results.md
    .venv/bin/python bench/detection/run.py --quick    # smoke test: small pools, few draws
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pools import CLASSES, SCENARIOS, VAR, Sizes, build_pools, ensure_model_data_only, pool_name

FALSE_ALARM_N = (50, 200, 1000)
POWER_N = 200
REFERENCE_TUMOUR_SHARE = 0.30  # class-mix experiment: 30% tumour in the reference


@dataclass(frozen=True)
class Cell:
    """One table cell: ``draws`` current samples of size ``n`` compared with one baseline."""

    section: str  # "false_alarm" | "power"
    scenario: str
    strength: float
    baseline: str  # "main" (balanced) | "mix30" (30% tumour)
    family: str  # "image" | "full"
    source: str  # a pool name, or "share" (tumour share drawn from the clean pool)
    n: int
    draws: int

    @property
    def seed(self) -> int:
        # The same draws for both families: the two rows differ only in the tests run.
        return zlib.crc32(f"{self.section}|{self.scenario}|{self.strength}|{self.n}".encode())


# --- worker side: pools and baselines load lazily, once per process ---------------------

_STATE: dict[str, Any] = {}


def _settings() -> Any:
    from driftloop.config import load_settings

    if "settings" not in _STATE:
        _STATE["settings"] = load_settings(environ={}, home=tempfile.mkdtemp())
    return _STATE["settings"]


def _pool(folder: str, name: str) -> pd.DataFrame:
    key = f"pool:{name}"
    if key not in _STATE:
        _STATE[key] = pd.read_parquet(Path(folder) / f"{name}.parquet")
    return _STATE[key]


def _for_family(df: pd.DataFrame, family: str) -> pd.DataFrame:
    from driftloop.drift.columns import MODEL_COLUMNS

    drop = ["label"] + ([c for c in df.columns if c in MODEL_COLUMNS] if family == "image" else [])
    return df.drop(columns=drop)


def mix_reference(reference: pd.DataFrame, extra_notumor: pd.DataFrame) -> pd.DataFrame:
    """A 30%-tumour reference: every notumor image, and tumour images in equal thirds."""
    notumor = pd.concat([reference[reference["label"] == "notumor"], extra_notumor])
    per_class = round(len(notumor) * REFERENCE_TUMOUR_SHARE / (1 - REFERENCE_TUMOUR_SHARE) / 3)
    tumour = [
        reference[reference["label"] == c].iloc[:per_class] for c in CLASSES if c != "notumor"
    ]
    return pd.concat([notumor, *tumour], ignore_index=True)


def _baseline(folder: str, which: str, family: str) -> Any:
    from driftloop.drift import build_baseline

    key = f"baseline:{which}:{family}"
    if key not in _STATE:
        ref = _pool(folder, "reference")
        if which == "mix30":
            ref = mix_reference(ref, _pool(folder, "extra_notumor"))
        _STATE[key] = build_baseline(_for_family(ref, family), settings=_settings())
    return _STATE[key]


def _share_draw(pool: pd.DataFrame, n: int, share: float, rng: np.random.Generator) -> pd.DataFrame:
    # A day's patients: the tumour count is binomial, not fixed, as in a real population.
    tumour = np.flatnonzero(pool["label"].to_numpy() != "notumor")
    notumor = np.flatnonzero(pool["label"].to_numpy() == "notumor")
    k = int(rng.binomial(n, share))
    rows = np.concatenate(
        [rng.choice(tumour, k, replace=False), rng.choice(notumor, n - k, replace=False)]
    )
    return pool.iloc[rows]


def run_cell(args: tuple[str, Cell]) -> tuple[Cell, float, dict[str, int], float]:
    """Detection rate of one cell, how often each test fired, and seconds per compare."""
    from driftloop.drift import compare

    logging.disable(logging.WARNING)
    folder, cell = args
    baseline = _baseline(folder, cell.baseline, cell.family)
    if cell.source.startswith("clean["):  # a slice of the clean pool, "clean[a:b]"
        lo, hi = (int(x) for x in cell.source[6:-1].split(":"))
        pool = _pool(folder, "clean").iloc[lo:hi]
    else:
        pool = _pool(folder, "clean" if cell.source == "share" else cell.source)
    rng = np.random.default_rng(cell.seed)
    share = REFERENCE_TUMOUR_SHARE * cell.strength
    hits, fired = 0, Counter[str]()
    t0 = time.perf_counter()
    for _ in range(cell.draws):
        if cell.source == "share":
            current = _share_draw(pool, cell.n, share, rng)
        else:
            current = pool.iloc[rng.choice(len(pool), cell.n, replace=False)]
        result = compare(baseline, _for_family(current, cell.family), _settings())
        hits += result.drift_detected
        fired.update(r.name for r in result.features if r.drifted)
    return cell, hits / cell.draws, dict(fired), (time.perf_counter() - t0) / cell.draws


# --- parent side ------------------------------------------------------------------------


def plan(sizes: Sizes, draws: int) -> list[Cell]:
    """Every cell of the tables.

    The bars (false alarms; identity control and the issue's strength with the
    whole family) get ``draws`` draws; the image-only rows at those strengths get
    half, and the intermediate rungs of each ladder 40% (enough to tell >= 95%
    from clearly less, and it keeps the run inside the time budget).
    """
    cells = [
        Cell("false_alarm", "clean", 0.0, "main", fam, "clean", n, draws)
        for n in FALSE_ALARM_N
        if n <= sizes.clean
        for fam in ("image", "full")
    ]
    n_power = min(POWER_N, sizes.shifted // 2)
    # The shifted pools hold only ``sizes.shifted`` sources, so their draws share
    # many images and inherit that subset's luck. The same draws from disjoint
    # clean subsets of that size show how far a same-distribution subset can read.
    m = sizes.shifted
    cells += [
        Cell(
            "subset_control",
            f"clean[{lo}:{lo + m}]",
            0.0,
            "main",
            "full",
            f"clean[{lo}:{lo + m}]",
            n_power,
            draws,
        )
        for lo in range(0, sizes.clean - m + 1, m)
    ]
    for name, sc in SCENARIOS.items():
        share = sc.kind == "tumour_share"
        for strength in (sc.identity, *sc.ladder):
            bar = strength in (sc.identity, sc.ladder[-1])
            src = "share" if share else pool_name(sc.kind, strength)
            base = "mix30" if share else "main"
            cells.append(
                Cell(
                    "power",
                    name,
                    strength,
                    base,
                    "full",
                    src,
                    n_power,
                    draws if bar else max(10, draws * 2 // 5),
                )
            )
            if bar:
                cells.append(
                    Cell("power", name, strength, base, "image", src, n_power, max(10, draws // 2))
                )
    # Longest first, so the two workers finish together.
    return sorted(cells, key=lambda c: -c.n * c.draws * (3 if c.family == "full" else 1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small pools, 20 draws; page under var/, not results.md",
    )
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = (
        Sizes(reference=240, extra_notumor=80, clean=1200, shifted=120) if args.quick else Sizes()
    )
    draws = 20 if args.quick else args.draws
    started = time.perf_counter()
    ensure_model_data_only()  # forks its own workers: before TensorFlow is imported
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        folder, facts = build_pools(pool, sizes)
        built = time.perf_counter()
        print(
            f"pools ready in {built - started:.0f}s ({len(facts['built'])} pools built, the rest reused) -> {folder}",
            flush=True,
        )
        cells = plan(sizes, draws)
        results = []
        for res in pool.imap_unordered(run_cell, [(str(folder), c) for c in cells]):
            results.append(res)
            cell, rate, fired, sec = res
            top = ", ".join(k for k, _ in sorted(fired.items(), key=lambda kv: -kv[1])[:3])
            print(
                f"{cell.section:11} {cell.scenario} @ {cell.strength:g} [{cell.family}, n={cell.n}, "
                f"{cell.draws} draws]: {rate:.0%} ({sec * 1000:.0f} ms/compare) {top}",
                flush=True,
            )
    facts["draw_seconds"] = round(time.perf_counter() - built, 1)
    facts["total_seconds"] = round(time.perf_counter() - started, 1)
    facts["identity_bytes_equal"] = identity_check(folder, sizes)
    from pools import code_fingerprint

    # Other engineers edit the feature code while this runs: say so if it moved.
    facts["code_changed"] = code_fingerprint() != facts["code_fingerprint"]
    if facts["code_changed"]:
        print("WARNING: feature/demo code changed during the run; rerun before quoting", flush=True)
    from report import print_ratios, write_results

    print_ratios(results)
    # A quick run is a smoke test: its page goes under var/, never over the committed one.
    out = VAR / "results-quick.md" if args.quick else Path(__file__).resolve().parent / "results.md"
    write_results(results, sizes, draws, facts, out)
    print(f"wrote {out}")


def identity_check(folder: Path, sizes: Sizes) -> dict[str, str]:
    """Per scenario: identity-strength files and feature rows that equal the clean pool's."""
    clean = pd.read_parquet(folder / "clean.parquet").iloc[: sizes.shifted].reset_index(drop=True)
    numeric = [
        c for c in clean.columns if c != "embedding" and pd.api.types.is_numeric_dtype(clean[c])
    ]
    out = {}
    for name, sc in SCENARIOS.items():
        if sc.kind == "tumour_share":
            continue
        ident = pd.read_parquet(folder / f"{pool_name(sc.kind, sc.identity)}.parquet")
        same_bytes = int((ident["sha256"].to_numpy() == clean["sha256"].to_numpy()).sum())
        a, b = ident[numeric].to_numpy(float), clean[numeric].to_numpy(float)
        same_rows = int(np.all((a == b) | (np.isnan(a) & np.isnan(b)), axis=1).sum())
        out[name] = f"{same_bytes}/{len(clean)} files, {same_rows}/{len(clean)} feature rows"
    return out


if __name__ == "__main__":
    main()
