"""Throughput of ``driftloop model predict`` against a bare ``model.predict``, same run.

The candidate path is the library function the CLI calls (``predict_dir``):
it lists a folder, decodes each file, predicts probabilities + embeddings and
writes the parquet. The baseline is Keras' ``model.predict`` on the same images
already decoded into one array (no file I/O at all). Bar: ratio >= 0.9.

Usage: .venv/bin/python bench/predict/run.py [--images N] [--repeats R]
Writes bench/predict/results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent


def _prepare(root: Path, n: int) -> tuple[Path, Path, Path]:
    """A trained small model and a folder of ``n`` demo-like images."""
    import numpy as np

    from driftloop.demo import generate_dataset
    from driftloop.model import train

    demo = root / "demo"
    generate_dataset(demo, seed=3, size="tiny", progress=False)
    model = root / "model"
    train(demo / "train", str(model), epochs=1, image_size=128)
    images = root / "images"
    images.mkdir()
    sources = sorted((demo / "train").rglob("*.jpg"))
    rng = np.random.default_rng(0)
    for i in range(n):
        src = sources[int(rng.integers(len(sources)))]
        (images / f"img_{i:05d}.jpg").write_bytes(src.read_bytes())
    return demo, model, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import numpy as np

    from driftloop.model import load_model, predict_dir
    from driftloop.model.data import decode_image, list_images

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, model_dir, images = _prepare(root, args.images)
        loaded = load_model(model_dir)
        paths = list_images(images)
        batch = np.stack([decode_image(p, loaded.image_size) for p in paths])[..., None]
        batch = batch.astype(np.float32)
        keras_model = loaded.keras_model
        keras_model.predict(batch[: args.batch_size], verbose=0)  # warm-up (tracing)
        predict_dir(loaded, images, root / "warm.parquet", batch_size=args.batch_size)

        bare, ours = [], []
        for r in range(args.repeats):  # interleaved, so load changes hit both alike
            t = time.perf_counter()
            keras_model.predict(batch, batch_size=args.batch_size, verbose=0)
            bare.append(len(paths) / (time.perf_counter() - t))
            t = time.perf_counter()
            predict_dir(loaded, images, root / f"p{r}.parquet", batch_size=args.batch_size)
            ours.append(len(paths) / (time.perf_counter() - t))
    bare_best, ours_best = max(bare), max(ours)
    bare_med, ours_med = statistics.median(bare), statistics.median(ours)
    ratio, ratio_med = ours_best / bare_best, ours_med / bare_med
    verdict = "PASS" if ratio >= 0.9 else "FAIL"
    line = (
        f"predict_dir {ours_best:.0f} img/s vs bare model.predict {bare_best:.0f} img/s: "
        f"ratio {ratio:.2f} of the best runs (medians: {ratio_med:.2f}; bar >= 0.90) {verdict}"
    )
    print(line)
    note = os.environ.get("BENCH_MACHINE_NOTE", "load from other work unknown")
    (HERE / "results.md").write_text(
        f"""# Benchmark: `driftloop model predict` vs bare `model.predict`

Run: `.venv/bin/python bench/predict/run.py --images {args.images} --repeats {args.repeats}`
on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {note};
both paths measured alternately in the same run, {args.repeats} times each.

Both paths use the same already-loaded model (loading, ~1 s, happens once per
CLI call and is not inference throughput). Model: small_cnn, 128x128 input, batch {args.batch_size}; {args.images} JPEGs (256x256 demo images).

| path | images/s, best | images/s, median | all runs |
| --- | ---: | ---: | --- |
| bare `keras_model.predict` on a pre-decoded float32 array (no I/O) | {bare_best:.0f} | {bare_med:.0f} | {", ".join(f"{v:.0f}" for v in bare)} |
| `predict_dir` on the loaded model (list, read and decode, predict probs + embedding, write parquet) | {ours_best:.0f} | {ours_med:.0f} | {", ".join(f"{v:.0f}" for v in ours)} |

**Ratio {ratio:.2f}** of the best runs (bar: >= 0.90) — **{verdict}**. Ratio of the medians: {ratio_med:.2f}.

The verdict uses the best run of each path, the conservative reading: Keras'
`predict` has slow outliers (runs where it keeps one core idle), which lower
its median more than its best.

The baseline is the strictest reading of "a bare `model.predict` on the same
batch": the images are already decoded into one array, so it does no I/O at all.
The library path must also read and decode every file (about 0.19 ms of CPU per
image here) while TensorFlow keeps both cores busy with the previous batch. What
keeps it close:

- the forward pass is one traced `tf.function` with a fixed signature instead of
  `model.predict`'s per-call set-up;
- greyscale JPEGs are decoded by libjpeg-turbo through simplejpeg, at the same
  reduced scale as PIL's draft mode (the same pixels, tested), with the GIL released;
- decoder threads (one per core) keep up to three batches ready under Linux's
  `SCHED_IDLE` policy, so while TensorFlow computes they take only the CPU it
  leaves idle, and when the model waits for them they run on every core.
  TensorFlow splits each layer over both cores and waits for the slower half, so
  a decoder competing at equal priority delays every batch by its own length;
- decoded batches stay uint8 up to the model (a quarter of the bytes to hand
  over), and listing the folder costs no `stat` or `Path` comparison per file.
""",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
