"""Time demo data generation: ``--size small`` on all cores against one worker on a slice of it.

Baseline (same run): the same per-image work with one worker, on the tiny size,
scaled per image. Prints the images/s of each and their ratio, and writes
results.md beside this file. Run: ``.venv/bin/python bench/demo/run.py``.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from driftloop.demo import generate_dataset

HERE = Path(__file__).resolve().parent


def _timed(out: Path, size: str, workers: int) -> tuple[float, int]:
    started = time.perf_counter()
    info = generate_dataset(out, seed=0, size=size, workers=workers, progress=False)
    return time.perf_counter() - started, info.n_files


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="demo-bench-"))
    try:
        base_s, base_n = _timed(tmp / "tiny", "tiny", 1)
        small_s, small_n = _timed(tmp / "small", "small", 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base_rate, small_rate = base_n / base_s, small_n / small_s
    lines = [
        "# Demo data generation",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; shared with other engineers' work",
        "while measured, so times are upper bounds.",
        "",
        "| run | files | seconds | files/s |",
        "| --- | ---: | ---: | ---: |",
        f"| baseline: tiny, 1 worker | {base_n} | {base_s:.1f} | {base_rate:.0f} |",
        f"| small, one worker per core | {small_n} | {small_s:.1f} | {small_rate:.0f} |",
        "",
        f"Ratio (small files/s over baseline files/s): {small_rate / base_rate:.2f}x.",
        f"Requirement: small under 60 s -> {'met' if small_s < 60 else 'NOT met'}.",
        f"Full (~15,600 files) extrapolated at the small rate: {15600 / small_rate / 60:.1f} min (requirement: < 10 min).",
        "",
    ]
    text = "\n".join(lines)
    (HERE / "results.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
