"""A contact sheet: sample slices per class, and one case under every scenario."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from driftloop.constants import CLASSES
from driftloop.demo.cases import render_case
from driftloop.demo.scenarios import DAY_SCHEDULE, SCENARIOS, apply, decode
from driftloop.errors import InputError

__all__ = ["contact_sheet"]

_LABEL_W = 110
_CONTENT_SCENARIOS = tuple(s for s in DAY_SCHEDULE if s not in ("class_prior", "dirty", "dicom"))


def _tile(image: NDArray[np.uint8], tile: int) -> Image.Image:
    return Image.fromarray(image, mode="L").resize((tile, tile), Image.Resampling.LANCZOS)


def _from_data(
    data: Path, per_row: int
) -> tuple[list[tuple[str, list[NDArray[np.uint8]]]], list[tuple[str, list[NDArray[np.uint8]]]]]:
    ref = data / "reference"
    if not ref.is_dir():
        raise InputError(
            f"{data} has no reference/ folder; make one with 'driftloop demo-data --out {data}'"
        )
    class_rows = []
    for cls in CLASSES:
        files = sorted((ref / cls).glob("*.jpg"))[:per_row]
        class_rows.append((cls, [decode(p.read_bytes()) for p in files]))
    scenario_rows = []
    scenarios = json.loads((data / "scenarios.json").read_text(encoding="utf-8"))
    for date, entry in sorted(scenarios.items()):
        if entry["scenario"] in _CONTENT_SCENARIOS:
            files = sorted((data / "production" / date).glob("img_*.jpg"))[:per_row]
            scenario_rows.append(
                (f"{entry['scenario']}\n{date}", [decode(p.read_bytes()) for p in files])
            )
    return class_rows, scenario_rows


def _rendered(
    seed: int, per_row: int
) -> tuple[list[tuple[str, list[NDArray[np.uint8]]]], list[tuple[str, list[NDArray[np.uint8]]]]]:
    class_rows = []
    for ci, cls in enumerate(CLASSES):
        images = [
            render_case(cls, np.random.default_rng([seed, 90, ci, i]))[0] for i in range(per_row)
        ]
        class_rows.append((cls, images))
    # One row of scenarios: the same case shown clean and under each scenario.
    bases = [render_case(c, np.random.default_rng([seed, 91, i]))[0] for i, c in enumerate(CLASSES)]
    scenario_rows = []
    for name in _CONTENT_SCENARIOS:
        strength = SCENARIOS[name].strength
        images = [
            apply(b, name, strength, np.random.default_rng([seed, 92, i]))
            for i, b in enumerate(bases)
        ]
        scenario_rows.append((f"{name}\n{strength:g} {SCENARIOS[name].unit}", images))
    return class_rows, scenario_rows


def contact_sheet(
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    per_row: int = 6,
    tile: int = 112,
) -> Path:
    """Draw samples per class and per scenario into a PNG at ``out`` (from ``data`` or rendered fresh)."""
    if data is not None:
        class_rows, scenario_rows = _from_data(Path(data), per_row)
    else:
        class_rows, scenario_rows = _rendered(seed, per_row)
    rows = class_rows + scenario_rows
    width = _LABEL_W + per_row * tile
    sheet = Image.new("L", (width, len(rows) * tile + 24), 255)
    draw = ImageDraw.Draw(sheet)
    draw.text(
        (6, 6),
        "driftloop synthetic brain MRI - classes (top) and production scenarios (bottom)",
        fill=0,
    )
    for r, (label, images) in enumerate(rows):
        y = 24 + r * tile
        draw.multiline_text((6, y + tile // 2 - 12), label, fill=0)
        for c, image in enumerate(images[:per_row]):
            sheet.paste(_tile(image, tile), (_LABEL_W + c * tile, y))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, format="PNG", optimize=True)
    return path
