"""Write the demo data set: train, reference, production days, feedback, masks, labels.

Every image has its own random generator seeded from (seed, split, day, index),
so the output is byte-identical for the same seed however many workers render
it. Work is planned in the parent, rendered in a pool of worker processes (each
loads the template once), and the bookkeeping files are written last.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from driftloop.constants import CLASSES
from driftloop.demo.anatomy import slice_stack
from driftloop.demo.badfiles import BAD_KINDS, write_bad_file
from driftloop.demo.cases import render_case
from driftloop.demo.dicom import write_dicom
from driftloop.demo.scenarios import (
    BASE_QUALITY,
    CLEAN_DAYS,
    DAY_SCHEDULE,
    SCENARIOS,
    apply,
    class_weights,
    encode_jpeg,
    jpeg_roundtrip,
    resample,
)
from driftloop.errors import InputError

__all__ = ["SIZES", "DatasetInfo", "generate_dataset", "mask_path", "schedule"]

log = logging.getLogger(__name__)

# Images per class (train, reference, feedback) and per production day.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"train": 40, "reference": 15, "per_day": 32, "feedback": 8},
    "small": {"train": 250, "reference": 100, "per_day": 40, "feedback": 25},
    "full": {"train": 2500, "reference": 500, "per_day": 200, "feedback": 200},
}
_SPLIT_CODES = {"train": 1, "reference": 2, "production": 3, "feedback": 4, "dirty": 5}
# Scenarios the feedback images cycle through: labelled examples of what drifted.
_FEEDBACK_SCENARIOS = ("scanner_change", "noise", "blur", "resolution", "jpeg_quality", "artefact")
_N_DUPLICATES = 2


@dataclass(frozen=True)
class DatasetInfo:
    """What ``generate_dataset`` wrote."""

    root: str
    seed: int
    size: str
    image_size: int
    dates: tuple[str, ...]
    counts: dict[str, int]
    scenarios: dict[str, dict[str, Any]]
    n_files: int
    seconds: float = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    rel: str  # path relative to the root, with extension
    cls: str
    scenario: str
    strength: float
    key: tuple[int, ...]
    fmt: str = "jpg"  # jpg | dcm
    quality: int = BASE_QUALITY
    out_size: int = 0  # 0: image_size


def mask_path(rel: str) -> str:
    """Where the mask of image ``rel`` lives: ``masks/<rel without suffix>_mask.png``."""
    stem = rel.rsplit(".", 1)[0]
    return f"masks/{stem}_mask.png"


def schedule(days: int) -> list[str]:
    """Scenario name of each production day: clean days, the drift calendar, clean again."""
    names = ["clean"] * min(days, CLEAN_DAYS) + list(DAY_SCHEDULE)[: max(0, days - CLEAN_DAYS)]
    return names + ["clean"] * (days - len(names))


def _dates(start_date: str, days: int) -> list[str]:
    try:
        start = dt.date.fromisoformat(start_date)
    except ValueError:
        raise InputError(f"start date {start_date!r} is not a date; use YYYY-MM-DD") from None
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(days)]


def _plan(seed: int, counts: dict[str, int], dates: list[str], image_size: int) -> list[_Job]:
    jobs: list[_Job] = []
    for split in ("train", "reference"):
        code = _SPLIT_CODES[split]
        for ci, cls in enumerate(CLASSES):
            for i in range(counts[split]):
                jobs.append(
                    _Job(f"{split}/{cls}/{cls}_{i:05d}.jpg", cls, "clean", 0.0, (seed, code, ci, i))
                )
    for ci, cls in enumerate(CLASSES):
        for i in range(counts["feedback"]):
            name = _FEEDBACK_SCENARIOS[(i + ci) % len(_FEEDBACK_SCENARIOS)]
            strength = SCENARIOS[name].strength
            key = (seed, _SPLIT_CODES["feedback"], ci, i)
            jobs.append(
                _job_for(f"feedback/{cls}/fb_{i:05d}", cls, name, strength, key, i, image_size)
            )
    for d, (date, name) in enumerate(zip(dates, schedule(len(dates)), strict=True)):
        strength = SCENARIOS[name].strength
        weights = class_weights(name, strength)
        probs = np.array([weights[c] for c in CLASSES])
        # The day's labels come from their own generator so the class mix is
        # decided before any pixels, identically in every worker layout.
        labels = np.random.default_rng([seed, _SPLIT_CODES["production"], d]).choice(
            len(CLASSES), size=counts["per_day"], p=probs
        )
        for i, ci in enumerate(labels):
            key = (seed, _SPLIT_CODES["production"], d, i)
            jobs.append(
                _job_for(
                    f"production/{date}/img_{i:05d}",
                    CLASSES[int(ci)],
                    name,
                    strength,
                    key,
                    i,
                    image_size,
                )
            )
    return jobs


def _job_for(
    stem: str, cls: str, name: str, strength: float, key: tuple[int, ...], i: int, image_size: int
) -> _Job:
    if name == "dicom":
        return _Job(stem + ".dcm", cls, name, strength, key, fmt="dcm")
    if name == "jpeg_quality":
        return _Job(stem + ".jpg", cls, name, strength, key, quality=int(strength))
    if name == "resolution" and i % 2 == 1:
        # A new scanner protocol: a different matrix size as well as less detail.
        return _Job(stem + ".jpg", cls, name, strength, key, out_size=image_size * 3 // 4)
    return _Job(stem + ".jpg", cls, name, strength, key)


def _render(job: _Job, root: str, image_size: int) -> tuple[str, str, str, float]:
    rng = np.random.default_rng(list(job.key))
    image, mask = render_case(job.cls, rng, image_size)
    image = apply(image, job.scenario, job.strength, rng)
    mask_img = mask.astype(np.uint8) * 255
    if job.out_size:
        image = resample(image, (job.out_size, job.out_size))
        mask_img = np.asarray(
            Image.fromarray(mask_img).resize((job.out_size, job.out_size), Image.Resampling.NEAREST)
        )
    path = Path(root) / job.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if job.fmt == "dcm":
        # The same pixels a JPEG day delivers, exported as DICOM: the container
        # changes, the content does not.
        write_dicom(path, jpeg_roundtrip(image, job.quality), "-".join(map(str, job.key)))
    else:
        path.write_bytes(encode_jpeg(image, job.quality))
    mpath = Path(root) / mask_path(job.rel)
    mpath.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask_img, mode="L").save(mpath, format="PNG", compress_level=6)
    return job.rel, job.cls, job.scenario, job.strength


_POOL_ARGS: tuple[str, int] = ("", 0)


def _pool_init(root: str, image_size: int) -> None:
    global _POOL_ARGS
    _POOL_ARGS = (root, image_size)
    slice_stack(image_size)  # the template, once per worker


def _pool_render(job: _Job) -> tuple[str, str, str, float]:
    return _render(job, *_POOL_ARGS)


def _run(
    jobs: list[_Job], root: Path, image_size: int, workers: int, progress: bool
) -> list[tuple[str, str, str, float]]:
    from tqdm import tqdm

    bar = tqdm(
        total=len(jobs),
        desc="demo images",
        unit="img",
        disable=None if progress else True,
        file=sys.stderr,
    )
    rows = []
    if workers <= 1:
        for job in jobs:
            rows.append(_render(job, str(root), image_size))
            bar.update()
    else:
        import multiprocessing as mp

        # Workers come from a fork server, not a plain fork of this process: a fork
        # copies other threads' locks mid-flight (inside pytest, Airflow or a
        # process with TensorFlow loaded that deadlocks now and then). Each worker
        # loads the template once, in its initializer.
        ctx: Any = mp.get_context("spawn")
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload([__name__])
        with ctx.Pool(workers, initializer=_pool_init, initargs=(str(root), image_size)) as pool:
            for row in pool.imap(_pool_render, jobs, chunksize=8):
                rows.append(row)
                bar.update()
    bar.close()
    return rows


def _dirty_extras(
    root: Path, date: str, seed: int, day: int, image_size: int
) -> tuple[dict[str, str], list[tuple[str, str, str, float]]]:
    """Bad files and byte-identical duplicates for the dirty day."""
    folder = root / "production" / date
    rng = np.random.default_rng([seed, _SPLIT_CODES["dirty"], day])
    image, _ = render_case(str(rng.choice(CLASSES)), rng, image_size)
    kinds: dict[str, str] = {}
    rows: list[tuple[str, str, str, float]] = []
    for i, kind in enumerate(BAD_KINDS):
        name = write_bad_file(kind, folder, i, image, f"{seed}-dirty-{day}-{i}")
        kinds[name] = kind
        rows.append((f"production/{date}/{name}", "", "dirty", 0.0))
    originals = sorted(p.name for p in folder.glob("img_*.jpg"))[:_N_DUPLICATES]
    for name in originals:
        copy = name.replace(".jpg", "_copy.jpg")
        shutil.copyfile(folder / name, folder / copy)
        kinds[copy] = "duplicate"
        rows.append((f"production/{date}/{copy}", "", "dirty", 0.0))
    return kinds, rows


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / "dataset.json").exists():
            raise InputError(
                f"output folder {out} is not empty and holds no demo data set; choose an empty folder"
            )
        for child in ("train", "reference", "production", "feedback", "masks"):
            shutil.rmtree(out / child, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def generate_dataset(
    out: str | os.PathLike[str],
    seed: int = 0,
    size: str = "small",
    days: int = 14,
    image_size: int = 256,
    start_date: str = "2026-11-01",
    workers: int = 0,
    *,
    progress: bool = True,
) -> DatasetInfo:
    """Write the synthetic brain-MRI demo data set to ``out`` (see docs/demo.md); deterministic per seed."""
    started = time.perf_counter()
    if size not in SIZES:
        raise InputError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    if days < 1:
        raise InputError(f"days must be at least 1, got {days}")
    if not 32 <= image_size <= 2048:
        raise InputError(f"image_size {image_size} is out of range; use 32..2048 (default 256)")
    root = Path(out)
    _prepare(root)
    counts = SIZES[size]
    dates = _dates(start_date, days)
    jobs = _plan(seed, counts, dates, image_size)
    if workers <= 0:
        workers = 1 if size == "tiny" else max(1, min(os.cpu_count() or 1, 8))
    slice_stack(image_size)  # load the template once, before any fork
    log.info(
        "rendering %d images (%s, seed %d) with %d worker(s) into %s",
        len(jobs),
        size,
        seed,
        workers,
        root,
    )
    rows = _run(jobs, root, image_size, workers, progress)
    names = schedule(days)
    scenarios: dict[str, dict[str, Any]] = {}
    for d, (date, name) in enumerate(zip(dates, names, strict=True)):
        spec = SCENARIOS[name]
        entry: dict[str, Any] = {
            "scenario": name,
            "strength": spec.strength,
            "unit": spec.unit,
            "description": spec.description,
            "drift": name not in ("clean", "dicom", "dirty"),
        }
        if name == "dirty":
            kinds, extra = _dirty_extras(root, date, seed, d, image_size)
            entry["bad_files"] = kinds
            rows.extend(extra)
        entry["n_files"] = sum(1 for r in rows if r[0].startswith(f"production/{date}/"))
        scenarios[date] = entry
    rows.sort()
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "class", "scenario", "strength"])
        writer.writerows((f, c, s, f"{x:g}") for f, c, s, x in rows)
    (root / "scenarios.json").write_text(
        json.dumps(scenarios, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    split_counts = {
        s: sum(1 for r in rows if r[0].startswith(s + "/"))
        for s in ("train", "reference", "production", "feedback")
    }
    meta = {
        "seed": seed,
        "size": size,
        "image_size": image_size,
        "dates": dates,
        "counts": split_counts,
    }
    (root / "dataset.json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    info = DatasetInfo(
        root=str(root),
        seed=seed,
        size=size,
        image_size=image_size,
        dates=tuple(dates),
        counts=split_counts,
        scenarios=scenarios,
        n_files=len(rows),
        seconds=round(time.perf_counter() - started, 2),
    )
    log.info(
        "wrote %d files (%s) in %.1f s",
        info.n_files,
        ", ".join(f"{k} {v}" for k, v in split_counts.items()),
        info.seconds,
    )
    return info
