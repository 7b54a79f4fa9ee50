"""Every driftloop image named anywhere is one of the tags in driftloop.constants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.helpers import ROOT
from driftloop import constants

IMAGE_REF = re.compile(r"ghcr\.io/driftloop/[a-z0-9][a-z0-9._-]*(?::[A-Za-z0-9._-]+)?")
SCANNED = ("dags", "components", "pipelines", "images", "k8s")
SUFFIXES = {".py", ".yaml", ".yml", ".json", ".conf", ""}


def allowed_refs() -> set[str]:
    """The image names and bare repositories the constants module defines."""
    names = {n for n in dir(constants) if n.endswith(("_IMAGE", "_IMAGE_REPO"))}
    return {str(getattr(constants, n)) for n in names}


def find_bad_refs(text: str, allowed: set[str]) -> list[str]:
    """Image references in ``text`` that are not exactly one of ``allowed``."""
    return [ref for ref in IMAGE_REF.findall(text) if ref not in allowed]


def _scanned_files() -> list[Path]:
    files = [ROOT / "docker-compose.yml"]
    for folder in SCANNED:
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
        ]
    return sorted(files)


def test_constants_define_the_steps_and_airflow_images() -> None:
    assert f"{constants.STEPS_IMAGE_REPO}:{constants.VERSION}" == constants.STEPS_IMAGE
    assert f"{constants.AIRFLOW_IMAGE_REPO}:{constants.VERSION}" == constants.AIRFLOW_IMAGE
    assert {constants.STEPS_IMAGE, constants.AIRFLOW_IMAGE} <= allowed_refs()


def test_a_stale_tag_or_unknown_image_is_reported() -> None:
    text = (
        f"image: {constants.STEPS_IMAGE}\n"
        "image: ghcr.io/driftloop/driftloop-steps:0.0.9\n"
        "image: ghcr.io/driftloop/driftloop-trainer:0.1.0\n"
    )
    assert find_bad_refs(text, allowed_refs()) == [
        "ghcr.io/driftloop/driftloop-steps:0.0.9",
        "ghcr.io/driftloop/driftloop-trainer:0.1.0",
    ]


def test_deploy_files_name_both_images() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in _scanned_files())
    assert constants.STEPS_IMAGE in text
    assert constants.AIRFLOW_IMAGE in (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", _scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_image_references_match_the_constants_module(path: Path) -> None:
    bad = find_bad_refs(path.read_text(encoding="utf-8", errors="replace"), allowed_refs())
    assert not bad, f"{path.relative_to(ROOT)} names {bad}; use driftloop.constants instead"
