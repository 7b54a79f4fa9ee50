"""Helpers for the deploy tests: where the validators live and how to run them.

Every validator is required: a missing one fails the test with the command that installs
it (``bash scripts/install-validators.sh``, run by ``make setup``), in CI and locally.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
TOOLS = ROOT / ".tools"
OVERLAYS = ("dev", "prod")
DOCKERFILES = sorted(ROOT.glob("images/*/Dockerfile"))
# Kubernetes version the manifests must validate against (kubectl client is v1.32 too).
K8S_VERSION = "1.32.0"
INSTALL_HINT = "install it with 'bash scripts/install-validators.sh' (part of 'make setup')"


def require_tool(name: str) -> str:
    """Path of a validator, looked up in .tools/bin, the venv, checkov's venv and PATH."""
    candidates = [TOOLS / "bin" / name, VENV_BIN / name, ROOT / ".venv-checkov" / "bin" / name]
    for path in candidates:
        if path.is_file() and path.stat().st_mode & 0o111:
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"validator '{name}' not found; {INSTALL_HINT}")


def compose_command() -> list[str]:
    """`docker compose` through the CLI plugin when a docker CLI exists, else the binary."""
    plugin = TOOLS / "docker" / "cli-plugins" / "docker-compose"
    if not plugin.exists():
        pytest.fail(f"docker compose plugin missing at {plugin}; {INSTALL_HINT}")
    docker = shutil.which("docker")
    if docker:
        return [docker, "--config", str(TOOLS / "docker"), "compose"]
    return [str(plugin.resolve())]


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a validator from the repository root, capturing its output as text."""
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, **kwargs)


def load_docs(text: str) -> list[dict[str, Any]]:
    """All non-empty YAML documents in ``text``."""
    return [doc for doc in yaml.safe_load_all(text) if doc]
