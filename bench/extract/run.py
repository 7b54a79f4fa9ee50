"""Benchmark: image-feature extraction vs a decode-only PIL loop, and memory at scale.

Usage: .venv/bin/python bench/extract/run.py [--images 2000] [--workers 0]
Writes bench/extract/results.md. Both loops use the same process pool size,
the same files and chunking, and alternate over 3 rounds (median reported),
so load from other processes hits both alike.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from driftloop.features.extract import _init_worker

HERE = Path(__file__).resolve().parent


def make_images(folder: Path, n: int) -> list[str]:
    """n distinct 512x512 greyscale MRI-like JPEGs (head ellipse, texture, mild noise)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:512, :512]
    paths = []
    for i in range(n):
        cx, cy = 256 + rng.normal(0, 8), 256 + rng.normal(0, 8)
        head = ((xx - cx) / 190) ** 2 + ((yy - cy) / 220) ** 2 < 1
        brain = ((xx - cx) / 170) ** 2 + ((yy - cy) / 200) ** 2 < 1
        img = head * 70.0 + brain * 50 + np.sin(xx / 9.0 + i) * np.cos(yy / 13.0) * 25 * brain
        img = np.asarray(
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(1.5)
            ),
            dtype=np.float64,
        )
        img = (img + rng.normal(0, 3, img.shape) * (img > 5)).clip(0, 255).astype(np.uint8)
        path = folder / f"img_{i:05d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        paths.append(str(path))
    return paths


def _decode_only(path: str) -> None:
    Image.open(path).load()


def _decode_only_simplejpeg(path: str) -> None:
    # The decoder extract itself uses for greyscale JPEGs: libjpeg-turbo, no PIL set-up.
    import simplejpeg

    with open(path, "rb") as fh:
        simplejpeg.decode_jpeg(fh.read(), colorspace="GRAY")


def _features(path: str) -> object:
    # The very function extract's workers run: decode at the working size, every
    # catalog image feature, the row returned as a tuple (what crosses the pipe).
    from driftloop.features.extract import _one

    row, _, error = _one((path, "", "JPEG", None))
    if row is None:
        raise RuntimeError(error)
    return row


def throughput(paths: list[str], workers: int, rounds: int = 3) -> dict[str, float]:
    """Median images/s of each loop over the same pool, files and chunking."""
    chunk = max(1, min(64, len(paths) // (workers * 4)))
    loops = {"base": _decode_only, "sj": _decode_only_simplejpeg, "feat": _features}
    runs: dict[str, list[float]] = {name: [] for name in loops}
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_features, paths[: workers * 4])  # warm imports in every worker
        pool.map(_decode_only_simplejpeg, paths[: workers * 4])
        for _ in range(rounds):
            for name, fn in loops.items():
                t = time.perf_counter()
                for _ in pool.imap(fn, paths, chunksize=chunk):
                    pass
                runs[name].append(len(paths) / (time.perf_counter() - t))
    return {name: statistics.median(values) for name, values in runs.items()}


def _draft_only(path: str) -> None:
    im = Image.open(path)
    im.draft("L", (128, 128))  # on a fresh JPEG, before load(): libjpeg DCT scaling to 1/4
    im.load()
    assert im.size == (128, 128), im.size


def cpu_per_image(paths: list[str], rounds: int = 3) -> dict[str, float]:
    """CPU ms per image in this process: immune to other users' load on the machine."""
    _init_worker(128, 0)
    fns = {
        "base": _decode_only,
        "sj": _decode_only_simplejpeg,
        "draft": _draft_only,
        "feat": _features,
    }
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.process_time()
            for p in paths:
                fn(p)
            best[name] = min(best[name], (time.process_time() - t) / len(paths) * 1e3)
    return best


def blockiness_by_quality(folder: Path) -> list[tuple[int, float, float]]:
    """Blockiness of one bench image saved at several qualities: full-res grid vs draft grid."""
    import io

    from driftloop.features.compute import blockiness, image_features

    folder.mkdir(parents=True, exist_ok=True)
    src = np.asarray(Image.open(make_images(folder, 1)[0]))
    out = []
    for q in (10, 30, 60, 95):
        path = folder / f"q{q}.jpg"
        Image.fromarray(src).save(path, quality=q)
        full = image_features(str(path), 128)["blockiness"]
        im = Image.open(io.BytesIO(path.read_bytes()))
        im.draft("L", (128, 128))
        im.load()
        out.append((q, full, blockiness(np.asarray(im), 2)))  # 8x8 blocks are 2x2 at 1/4
    return out


_MEM_CHILD = """
import sys, resource, threading, psutil
from driftloop.config import load_settings
from driftloop.features.extract import extract
# The workers are children of the fork server, not of this process, so
# RUSAGE_CHILDREN misses them: sample every descendant's RSS instead.
peak = [0]
done = threading.Event()
def sample():
    me = psutil.Process()
    while not done.is_set():
        for kid in me.children(recursive=True):
            try:
                peak[0] = max(peak[0], kid.memory_info().rss // 1024)
            except psutil.Error:
                pass
        done.wait(0.05)
thread = threading.Thread(target=sample, daemon=True)
thread.start()
s = load_settings(environ={}, home=sys.argv[3])
extract(sys.argv[1], sys.argv[2], s, workers=int(sys.argv[4]))
done.set()
thread.join()
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(self_kb, peak[0])
"""


def peak_rss(paths: list[str], n_rows: int, workers: int, tmp: Path) -> tuple[float, float]:
    """Peak RSS (MB) of the extract parent and of its largest worker for n_rows images."""
    from driftloop.ingest.manifest import ManifestRow, write_manifest
    from driftloop.storage.artifacts import ArtifactStore

    rows = [
        ManifestRow(
            paths[i % len(paths)],
            f"{i:064x}",
            "JPEG",
            "accepted",
            None,
            None,
            None,
            512,
            512,
            i // 512,
        )
        for i in range(n_rows)
    ]
    manifest = str(tmp / f"manifest_{n_rows}.parquet")
    write_manifest(rows, manifest, ArtifactStore(tmp))
    out = subprocess.run(
        [sys.executable, "-c", _MEM_CHILD, manifest, str(tmp / f"feat_{n_rows}"), str(tmp / "var"),
         str(workers)],
        check=True, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"},
    )  # fmt: skip
    self_kb, kids_kb = (int(v) for v in out.stdout.split()[-2:])
    return self_kb / 1024, kids_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmpdir:
        tmp = Path(tmpdir)
        t = time.perf_counter()
        paths = make_images(tmp, args.images)
        print(f"made {len(paths)} images in {time.perf_counter() - t:.1f}s", flush=True)
        cpu = cpu_per_image(paths[:300])
        print(f"CPU per image (ms): {cpu}", flush=True)
        blocks = blockiness_by_quality(tmp / "quality")
        speed = throughput(paths, workers)
        base, sj, feat = speed["base"], speed["sj"], speed["feat"]
        ratio = feat / base
        print(
            f"decode-only PIL {base:.0f} img/s, simplejpeg {sj:.0f} img/s, "
            f"features {feat:.0f} img/s, ratio {ratio:.2f}",
            flush=True,
        )
        mem = {n: peak_rss(paths, n, workers, tmp) for n in (1000, 20000)}
        for n, (p, c) in mem.items():
            print(f"{n} images: parent peak {p:.0f} MB, largest worker peak {c:.0f} MB", flush=True)
    growth = mem[20000][0] - mem[1000][0]
    growth_w = mem[20000][1] - mem[1000][1]
    cpu_ratio = cpu["base"] / cpu["feat"]
    ok_speed, ok_mem = ratio >= 0.8, max(growth, growth_w) <= 100
    yes = {True: "yes", False: "no"}
    text = f"""# Extraction benchmark

Machine: {os.cpu_count()} cores, {os.environ.get("BENCH_MACHINE_NOTE", "load from other work unknown")}. Python {sys.version.split()[0]}, Pillow {Image.__version__}.
Files: {args.images} distinct 512x512 greyscale JPEGs (quality 90, MRI-like phantom), working size 128.
The loops use the same pool of {workers} processes, the same files and chunking, and take
turns over 3 rounds; the medians are shown.

| measure | value | bar | met |
| --- | --- | --- | --- |
| decode-only `Image.open(p).load()` (the bar's baseline) | {base:.0f} img/s | baseline | |
| decode-only simplejpeg (the decoder extract uses for grey JPEGs) | {sj:.0f} img/s | | |
| image features (all catalog image columns) | {feat:.0f} img/s | | |
| ratio features / PIL decode-only | {ratio:.2f} | >= 0.80 | {yes[ok_speed]} |
| ratio features / simplejpeg decode-only | {feat / sj:.2f} | | |
| CPU per image, one process (min of 3): PIL decode / simplejpeg decode / features | {cpu["base"]:.3f} / {cpu["sj"]:.3f} / {cpu["feat"]:.3f} ms | | |
| CPU ratio features / PIL decode-only (load-independent) | {cpu_ratio:.2f} | >= 0.80 | {yes[cpu_ratio >= 0.8]} |
| CPU per image, PIL draft decode to 128 (`im.draft("L", (128, 128))`, size checked) | {cpu["draft"]:.3f} ms | | |
| parent peak RSS, 1,000 images | {mem[1000][0]:.0f} MB | | |
| parent peak RSS, 20,000 images | {mem[20000][0]:.0f} MB | +{growth:.0f} MB | {yes[growth <= 100]} |
| largest worker peak RSS, 1,000 / 20,000 | {mem[1000][1]:.0f} / {mem[20000][1]:.0f} MB | within 100 MB | {yes[growth_w <= 100]} |

### How extraction keeps up with a bare decode

Per image, extraction decodes the file once at full resolution and then does
everything else in about {cpu["feat"] - cpu["sj"]:.2f} ms of CPU:

- **Decode.** Greyscale JPEGs are decoded by libjpeg-turbo through simplejpeg,
  straight from the file's bytes. It is the same library and the same (accurate)
  IDCT that PIL uses, so the pixels are identical (tested), but it skips PIL's
  per-file Python work (opening, parsing every marker, setting up the decoder).
  The quantisation table for the JPEG quality estimate is read from the bytes by
  a short marker walk. Colour JPEGs, any other format, and any JPEG simplejpeg
  refuses go through PIL as before.
- **Compiled loops.** The box average to the working size, the histogram, the
  texture measures, blockiness and the head mask are small numba loops
  (`src/driftloop/features/kernels.py`) that read the pixels once and sum in exact
  integers. The numpy version they replace made about 60 whole-array passes with
  temporaries per image (≈ 0.2 ms, ratio 0.60); each loop is tested against a
  plain numpy reference (`tests/features/test_kernels.py`).

### Why not draft mode

`im.draft("L", (128, 128))` is called on the freshly opened JPEG before `load()` and
does shrink it to 128x128 (scale 1/4; the files are baseline, not progressive), yet
it saves only {100 * (1 - cpu["draft"] / cpu["base"]):.0f} % of the decode here: on these
files (quality 90, mild noise) libjpeg's Huffman decoding, which DCT scaling cannot
skip, is most of the cost. And at 1/4 scale each 8x8 block becomes 2x2 pixels whose
edges mostly vanish, so blockiness barely tracks JPEG quality any more:

| JPEG quality | blockiness, full-res 8x8 grid (what extract computes) | on the draft 1/4 grid |
| --- | --- | --- |
{chr(10).join(f"| {q} | {a:.2f} | {b:.2f} |" for q, a, b in blocks)}

So extraction decodes at full resolution, measures blockiness on the central
128x128 crop (8-aligned) and box-averages to the working size.

Memory: every extraction process now also loads numba (LLVM and the compiled
loops; 75 MB measured on its own), once per process whatever the number of
images, which is most of the rise from 172 MB (parent) and 67 MB (worker) before
the compiled loops. The bar is about growth with the number of images: flat.

The 20,000-image run reuses the {args.images} files cyclically through a 20,000-row manifest
and runs the real `driftloop.features.extract` (pool, shards, parquet parts).
Reproduce: `.venv/bin/python bench/extract/run.py`.
"""
    (HERE / "results.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if ok_speed and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
