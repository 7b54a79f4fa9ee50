"""The data set's folders, counts, labels and determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from driftloop.constants import CLASSES
from driftloop.demo import generate_dataset
from driftloop.demo.generate import SIZES, mask_path, schedule
from driftloop.errors import InputError


def _digests(root: Path, parts: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for part in parts:
        for p in sorted((root / part).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_tiny_has_every_folder_kind_with_expected_counts(demo_tiny: Path) -> None:
    counts = SIZES["tiny"]
    for cls in CLASSES:
        assert len(list((demo_tiny / "train" / cls).glob("*.jpg"))) == counts["train"]
        assert len(list((demo_tiny / "reference" / cls).glob("*.jpg"))) == counts["reference"]
        assert len(list((demo_tiny / "feedback" / cls).glob("*.jpg"))) == counts["feedback"]
    days = sorted(p.name for p in (demo_tiny / "production").iterdir())
    assert len(days) == 14 and days[0] == "2026-11-01" and days[-1] == "2026-11-14"
    assert (demo_tiny / "labels.csv").is_file() and (demo_tiny / "scenarios.json").is_file()


def test_schedule_runs_clean_then_every_scenario_then_clean(demo_scenarios: dict[str, Any]) -> None:
    names = [demo_scenarios[d]["scenario"] for d in sorted(demo_scenarios)]
    assert names == schedule(14)
    assert names[:4] == ["clean"] * 4
    expected = [
        "scanner_change",
        "noise",
        "blur",
        "resolution",
        "jpeg_quality",
        "class_prior",
        "artefact",
        "dirty",
        "dicom",
    ]
    assert names[4:13] == expected and names[13] == "clean"
    for entry in demo_scenarios.values():
        assert {"scenario", "strength", "description"} <= set(entry)


def test_short_schedules_cut_the_calendar() -> None:
    assert schedule(2) == ["clean", "clean"]
    assert schedule(6) == ["clean"] * 4 + ["scanner_change", "noise"]


def test_every_labelled_image_exists_with_a_mask(
    demo_tiny: Path, demo_labels: list[dict[str, str]]
) -> None:
    files = {r["file"] for r in demo_labels}
    on_disk = {
        str(p.relative_to(demo_tiny))
        for part in ("train", "reference", "production", "feedback")
        for p in (demo_tiny / part).rglob("*")
        if p.is_file()
    }
    assert files == on_disk
    for row in demo_labels:
        if row["class"]:
            assert (demo_tiny / mask_path(row["file"])).is_file(), row["file"]


def test_same_seed_gives_identical_bytes_whatever_the_workers(
    demo_tiny: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    generate_dataset(again, seed=7, size="tiny", days=1, workers=2, progress=False)
    parts = ("train", "reference", "feedback", "production/2026-11-01", "masks/train")
    first, second = _digests(demo_tiny, parts), _digests(again, parts)
    assert first and first == second


def test_another_seed_gives_different_images(demo_tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_dataset(other, seed=8, size="tiny", days=1, workers=1, progress=False)
    a, b = _digests(demo_tiny, ("train/glioma",)), _digests(other, ("train/glioma",))
    assert a.keys() == b.keys()
    assert sum(a[k] != b[k] for k in a) == len(a)


def test_unknown_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown size 'huge'"):
        generate_dataset(tmp_path / "x", size="huge")


def test_bad_start_date_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a date"):
        generate_dataset(tmp_path / "x", size="tiny", start_date="November")


def test_refuses_to_write_into_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        generate_dataset(tmp_path, size="tiny")
    assert (tmp_path / "precious.txt").read_text() == "keep me"
