"""prepare_data: merge sources, dedupe, stratified split, fingerprint, and its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from components.data import prepare_data, read_fingerprint

from conftest import write_labelled_images
from driftloop.constants import CLASSES
from driftloop.errors import InputError


def _count(split: Path) -> dict[str, int]:
    return {c: len(list((split / "images" / c).glob("*"))) for c in CLASSES}


def test_split_is_stratified_and_disjoint(labelled_images: Path, tmp_path: Path) -> None:
    result = prepare_data(
        str(labelled_images), tmp_path / "train", tmp_path / "holdout", holdout_fraction=0.2
    )
    held, trained = _count(tmp_path / "holdout"), _count(tmp_path / "train")
    # Every class on both sides, 10 images each in all; about a fifth held out.
    assert set(held) == set(trained) == set(CLASSES)
    assert all(held[c] >= 1 and trained[c] >= 1 and held[c] + trained[c] == 10 for c in CLASSES)
    train_names = {p.name for p in (tmp_path / "train").rglob("*.png")}
    holdout_names = {p.name for p in (tmp_path / "holdout").rglob("*.png")}
    assert not train_names & holdout_names
    assert result.n_train + result.n_holdout == 40
    assert 4 <= result.n_holdout <= 14
    assert (
        read_fingerprint(tmp_path / "train")
        == read_fingerprint(tmp_path / "holdout")
        == result.fingerprint
    )


def test_fingerprint_is_stable_and_changes_with_the_data(
    labelled_images: Path, tmp_path: Path
) -> None:
    first = prepare_data(str(labelled_images), tmp_path / "a", tmp_path / "b", seed=3).fingerprint
    again = prepare_data(str(labelled_images), tmp_path / "c", tmp_path / "d", seed=3).fingerprint
    other_split = prepare_data(
        str(labelled_images), tmp_path / "e", tmp_path / "f", seed=4
    ).fingerprint
    assert first == again
    assert first != other_split
    next(labelled_images.glob("glioma/*.png")).unlink()
    assert (
        prepare_data(str(labelled_images), tmp_path / "g", tmp_path / "h", seed=3).fingerprint
        != first
    )


def test_feedback_is_merged_and_duplicates_kept_once(labelled_images: Path, tmp_path: Path) -> None:
    feedback = write_labelled_images(tmp_path / "feedback", 2, seed=99)
    shutil.copy(next(labelled_images.glob("notumor/*.png")), feedback / "notumor" / "again.png")
    result = prepare_data(
        str(labelled_images), tmp_path / "t", tmp_path / "h", feedback_uri=str(feedback)
    )
    assert result.per_source == {"train": 40, "feedback": 8}
    assert result.n_duplicates == 1
    assert result.n_train + result.n_holdout == 48
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert summary["per_source"]["feedback"] == 8


def test_missing_feedback_folder_is_not_an_error(labelled_images: Path, tmp_path: Path) -> None:
    result = prepare_data(
        str(labelled_images), tmp_path / "t", tmp_path / "h", feedback_uri=str(tmp_path / "none")
    )
    assert result.per_source == {"train": 40}


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"training data '.*nope' is not a folder"):
        prepare_data(str(tmp_path / "nope"), tmp_path / "t", tmp_path / "h")


def test_folder_without_class_folders_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data" / "cats").mkdir(parents=True)
    with pytest.raises(InputError, match="no labelled images under"):
        prepare_data(str(tmp_path / "data"), tmp_path / "t", tmp_path / "h")


def test_class_with_one_image_cannot_be_split(tmp_path: Path) -> None:
    data = write_labelled_images(tmp_path / "data", 3)
    for extra in list((data / "pituitary").glob("*.png"))[1:]:
        extra.unlink()
    with pytest.raises(InputError, match="class 'pituitary' has 1 image"):
        prepare_data(str(data), tmp_path / "t", tmp_path / "h")


def test_holdout_fraction_out_of_range_is_rejected(labelled_images: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holdout_fraction=1.5"):
        prepare_data(str(labelled_images), tmp_path / "t", tmp_path / "h", holdout_fraction=1.5)


def test_production_needs_a_database_url(labelled_images: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="include_production=True needs database_url"):
        prepare_data(str(labelled_images), tmp_path / "t", tmp_path / "h", include_production=True)


def test_adding_images_never_moves_an_image_across_the_split(
    labelled_images: Path, tmp_path: Path
) -> None:
    """A champion trained by one run never saw what the next run holds out."""
    import shutil

    prepare_data(str(labelled_images), tmp_path / "t1", tmp_path / "h1", seed=5)
    more = tmp_path / "feedback"
    shutil.copytree(labelled_images, more)
    for path in more.rglob("*.png"):  # new, different images of the same classes
        path.write_bytes(path.read_bytes() + b"\0new")
    prepare_data(
        str(labelled_images), tmp_path / "t2", tmp_path / "h2", feedback_uri=str(more), seed=5
    )
    trained_before = {p.name.split("_", 1)[1] for p in (tmp_path / "t1").rglob("*.png")}
    held_after = {p.name.split("_", 1)[1] for p in (tmp_path / "h2").rglob("*.png")}
    assert not trained_before & held_after
