"""prepare_data: gather labelled images, split them stratified, fingerprint the result.

Pure logic over paths (no kfp import): the container component runs it through
``driftloop pipeline step prepare-data`` and the kfp.local component imports it,
so both paths run this same code.

Output layout of each split folder (a KFP ``Dataset`` artifact)::

    <split>/images/<class>/<source>_<sha12>.<ext>
    <split>/summary.json     counts per class and source, the fingerprint
    <split>/fingerprint.txt  sha256 over (label, image sha256, split) of both splits
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from collections import Counter
from pathlib import Path

from driftloop.constants import CLASSES
from driftloop.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "LabelledImage", "PreparedData", "prepare_data", "read_fingerprint"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".dcm"})


@dataclasses.dataclass(frozen=True, slots=True)
class LabelledImage:
    """One image file with its class label and where it came from."""

    path: Path
    label: str
    source: str  # train | feedback | production
    sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedData:
    """What prepare_data wrote."""

    n_train: int
    n_holdout: int
    per_class: dict[str, dict[str, int]]
    per_source: dict[str, int]
    n_duplicates: int
    fingerprint: str

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _scan_class_folders(root: Path, source: str) -> list[LabelledImage]:
    """Images under ``root/<class>/``; folders that are not a known class are skipped."""
    found: list[LabelledImage] = []
    skipped: list[str] = []
    for child in sorted(root.iterdir()):
        if not child.is_dir():
            continue
        if child.name not in CLASSES:
            skipped.append(child.name)
            continue
        for file in sorted(child.rglob("*")):
            if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
                found.append(LabelledImage(file, child.name, source, _sha256(file)))
    if skipped:
        log.warning("%s: skipped folders that are not a class %s: %s", root, CLASSES, skipped)
    return found


def _labelled_production(database_url: str) -> list[LabelledImage]:
    """Production images whose prediction got a feedback label (predictions_log)."""
    from sqlalchemy import select

    from driftloop.storage.db import Database
    from driftloop.storage.models import PredictionLog

    db = Database(database_url)
    try:
        with db.session() as session:
            rows = session.execute(
                select(PredictionLog.image_uri, PredictionLog.feedback_label).where(
                    PredictionLog.feedback_label.is_not(None),
                    PredictionLog.image_uri.is_not(None),
                )
            ).all()
    finally:
        db.dispose()
    found: list[LabelledImage] = []
    missing = 0
    for uri, label in rows:
        path = Path(str(uri).removeprefix("file://"))
        if label not in CLASSES or not path.is_file():
            missing += 1
            continue
        found.append(LabelledImage(path, label, "production", _sha256(path)))
    log.info("labelled production images: %d usable, %d unusable", len(found), missing)
    return found


def _split_key(image: LabelledImage, seed: int) -> float:
    """A stable number in [0, 1) for the image: its place in the split."""
    digest = hashlib.sha256(f"{seed}:{image.sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _split(
    images: list[LabelledImage], holdout_fraction: float, seed: int
) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """Stratified split in which an image's side depends on the image alone.

    An image is held out when its seeded content hash falls below
    ``holdout_fraction``, so adding feedback never moves an image across the
    split: a champion trained by an earlier run never saw the images the next
    run evaluates it and its challenger on. Each class keeps at least one image
    on each side.
    """
    train: list[LabelledImage] = []
    holdout: list[LabelledImage] = []
    for label in CLASSES:
        members = sorted(
            (im for im in images if im.label == label), key=lambda im: _split_key(im, seed)
        )
        if not members:
            continue
        if len(members) < 2:
            raise InputError(
                f"class '{label}' has {len(members)} image; a stratified split needs at least 2 "
                "per class: add labelled images for it"
            )
        n_hold = sum(1 for im in members if _split_key(im, seed) < holdout_fraction)
        n_hold = min(len(members) - 1, max(1, n_hold))
        holdout.extend(members[:n_hold])
        train.extend(members[n_hold:])
    return train, holdout


def _fingerprint(train: list[LabelledImage], holdout: list[LabelledImage]) -> str:
    lines = sorted(f"{im.label}\t{im.sha256}\ttrain" for im in train)
    lines += sorted(f"{im.label}\t{im.sha256}\tholdout" for im in holdout)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _write_split(out: Path, images: list[LabelledImage], summary: dict[str, object]) -> None:
    if out.exists():
        shutil.rmtree(out)
    for im in images:
        target = out / "images" / im.label / f"{im.source}_{im.sha256[:12]}{im.path.suffix.lower()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(im.path, target)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / "fingerprint.txt").write_text(str(summary["fingerprint"]) + "\n", encoding="utf-8")


def read_fingerprint(split_dir: str | Path) -> str:
    """The data fingerprint prepare_data wrote beside a split."""
    path = Path(split_dir) / "fingerprint.txt"
    if not path.is_file():
        raise InputError(f"'{path}' not found; the folder was not written by prepare_data")
    return path.read_text(encoding="utf-8").strip()


def prepare_data(
    data_uri: str,
    train_out: str | Path,
    holdout_out: str | Path,
    *,
    feedback_uri: str = "",
    database_url: str = "",
    include_production: bool = False,
    holdout_fraction: float = 0.2,
    seed: int = 0,
) -> PreparedData:
    """Merge training images, labelled feedback and (optionally) labelled production images.

    Identical images (same sha256) are kept once, so an image fed back twice does
    not weigh twice nor land on both sides of the split.
    """
    if not 0 < holdout_fraction < 1:
        raise InputError(f"holdout_fraction={holdout_fraction} must be between 0 and 1 (e.g. 0.2)")
    root = Path(data_uri.removeprefix("file://"))
    if not root.is_dir():
        raise InputError(
            f"training data '{data_uri}' is not a folder; pass data_uri=DIR/<class>/*.jpg"
        )
    images = _scan_class_folders(root, "train")
    if not images:
        raise InputError(
            f"no labelled images under '{data_uri}'; expected <class>/*.jpg with classes {CLASSES}"
        )
    if feedback_uri:
        feedback = Path(feedback_uri.removeprefix("file://"))
        extra = _scan_class_folders(feedback, "feedback") if feedback.is_dir() else []
        log.info("feedback '%s': %d labelled images", feedback_uri, len(extra))
        images += extra
    if include_production:
        if not database_url:
            raise InputError("include_production=True needs database_url (predictions_log)")
        images += _labelled_production(database_url)

    unique: dict[str, LabelledImage] = {}
    for im in images:
        unique.setdefault(im.sha256, im)
    n_duplicates = len(images) - len(unique)
    train, holdout = _split(list(unique.values()), holdout_fraction, seed)
    fingerprint = _fingerprint(train, holdout)

    per_class = {
        split: dict(Counter(im.label for im in members))
        for split, members in (("train", train), ("holdout", holdout))
    }
    per_source = dict(Counter(im.source for im in unique.values()))
    result = PreparedData(
        len(train), len(holdout), per_class, per_source, n_duplicates, fingerprint
    )
    _write_split(Path(train_out), train, {"split": "train", **result.to_dict()})
    _write_split(Path(holdout_out), holdout, {"split": "holdout", **result.to_dict()})
    log.info(
        "prepared %d train + %d holdout images (sources %s, %d duplicates dropped), fingerprint %s",
        len(train),
        len(holdout),
        per_source,
        n_duplicates,
        fingerprint[:12],
    )
    return result
