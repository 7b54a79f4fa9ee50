"""Train small_cnn on the small demo set and check the bar: macro AUC >= 0.90 on reference in < 3 min.

Usage: .venv/bin/python bench/predict/train_small.py [DEMO_DIR]
(DEMO_DIR defaults to a fresh ``generate_dataset(size="small")`` in a temp folder.)
Prints one line with the numbers and exits 1 when the bar is missed.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    from driftloop.model import evaluate, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            demo = Path(sys.argv[1])
        else:
            from driftloop.demo import generate_dataset

            demo = Path(tmp) / "demo"
            generate_dataset(demo, seed=0, size="small", progress=False)
        started = time.perf_counter()
        result = train(
            demo / "train", str(Path(tmp) / "model")
        )  # the defaults: small_cnn, 8 epochs, 128 px
        seconds = time.perf_counter() - started
        metrics = evaluate(result.model_uri, demo / "reference")
    auc, acc = metrics["macro_auc"], metrics["accuracy"]
    ok = auc is not None and auc >= 0.90 and seconds < 180
    print(
        f"small demo: train {seconds:.1f}s (bar < 180 s), reference n={metrics['n']} "
        f"macro AUC {auc:.4f} (bar >= 0.90), accuracy {acc:.4f} -> {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
