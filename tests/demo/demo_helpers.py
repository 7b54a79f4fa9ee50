"""Image helpers shared by the demo tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def load_grey(path: Path) -> np.ndarray:
    """Decode an image file to float32 greyscale."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)
