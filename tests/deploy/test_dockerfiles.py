"""The Dockerfiles lint clean, pin their bases, run unprivileged and copy only what exists."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from deploy.helpers import DOCKERFILES, ROOT, require_tool, run


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _dockerignored(relpath: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").removeprefix("**/")
        if fnmatch.fnmatch(relpath, pattern) or fnmatch.fnmatch(relpath.split("/")[0], pattern):
            ignored = not negate
    return ignored


def test_there_is_a_dockerfile_per_image() -> None:
    assert {p.parent.name for p in DOCKERFILES} >= {"steps", "airflow", "serving"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = require_tool("hadolint")
    result = run([hadolint, "--config", ".hadolint.yaml", str(dockerfile.relative_to(ROOT))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_an_unpinned_image(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n", encoding="utf-8")
    result = run([require_tool("hadolint"), "--config", ".hadolint.yaml", str(bad)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3013" in result.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_images_are_pinned_to_a_version(dockerfile: Path) -> None:
    args = dict(
        (m.group(1), m.group(2))
        for _, rest in _instructions(dockerfile)
        if (m := re.match(r"(\w+)=(\S+)", rest))
    )
    for word, rest in _instructions(dockerfile):
        if word != "FROM":
            continue
        image = rest.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
        name, _, tag = image.rpartition(":")
        assert name and re.search(r"\d+\.\d+", tag), f"{dockerfile}: base '{image}' has no version"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_final_stage_runs_as_a_non_root_user(dockerfile: Path) -> None:
    instructions = _instructions(dockerfile)
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    users = [rest for word, rest in instructions[last_from:] if word == "USER"]
    if not users:
        # A stage FROM one of our own images inherits its user; the steps image sets one.
        base = instructions[last_from][1]
        assert "driftloop" in base or "STEPS_IMAGE" in base, f"{dockerfile}: no USER"
        return
    user = users[-1].split(":")[0]
    assert user not in {"0", "root"}, f"{dockerfile} ends as {users[-1]}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_copy_sources_exist_in_the_build_context(dockerfile: Path) -> None:
    for word, rest in _instructions(dockerfile):
        if word != "COPY" or "--from=" in rest:
            continue
        parts = [p for p in rest.split() if not p.startswith("--")]
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"{dockerfile}: COPY source '{source}' missing"
            assert not _dockerignored(source), f"{dockerfile}: '{source}' is in .dockerignore"


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    for path in (".venv", ".env", "var", ".git", "tests"):
        assert _dockerignored(path), path
    assert not _dockerignored(".env.example")
