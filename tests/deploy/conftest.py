"""Fixtures for the deploy tests: the kustomize overlays rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.helpers import OVERLAYS, require_tool, run


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """`kubectl kustomize` output of every overlay, built once per session."""
    kubectl = require_tool("kubectl")
    out: dict[str, str] = {}
    for overlay in OVERLAYS:
        result = run([kubectl, "kustomize", f"k8s/overlays/{overlay}"])
        assert result.returncode == 0, f"kustomize build of {overlay} failed:\n{result.stderr}"
        out[overlay] = result.stdout
    return out


@pytest.fixture(scope="session")
def rendered_dir(rendered: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered overlays written to files, one per overlay."""
    folder = tmp_path_factory.mktemp("rendered")
    for overlay, text in rendered.items():
        (folder / f"{overlay}.yaml").write_text(text, encoding="utf-8")
    return folder
