"""checkov finds nothing in the rendered manifests or the Dockerfiles beyond the skip list."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from deploy.helpers import DOCKERFILES, ROOT, require_tool, run


def _checkov(*args: str) -> tuple[int, str]:
    result = run([require_tool("checkov"), "--config-file", ".checkov.yaml", *args])
    return result.returncode, result.stdout + result.stderr


def test_rendered_manifests_pass_checkov(rendered_dir: Path) -> None:
    code, out = _checkov("--framework", "kubernetes", "-d", str(rendered_dir))
    assert code == 0, out
    assert re.search(r"Passed checks: [1-9]\d*, Failed checks: 0", out), out


def test_dockerfiles_pass_checkov() -> None:
    files = [arg for path in DOCKERFILES for arg in ("-f", str(path.relative_to(ROOT)))]
    code, out = _checkov("--framework", "dockerfile", *files)
    assert code == 0, out
    assert "Failed checks: 0" in out, out


def test_checkov_flags_a_privileged_pod(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: x}\nspec:\n"
        "  containers:\n  - name: c\n    image: busybox:1.36\n"
        "    securityContext: {privileged: true}\n",
        encoding="utf-8",
    )
    code, out = _checkov("--framework", "kubernetes", "-d", str(tmp_path))
    assert code != 0
    assert "CKV_K8S_16" in out  # "Container should not be privileged"


def test_every_skipped_check_has_a_reason() -> None:
    text = (ROOT / ".checkov.yaml").read_text(encoding="utf-8")
    skipped = yaml.safe_load(text)["skip-check"]
    lines = text.splitlines()
    for check in skipped:
        index = lines.index(f"  - {check}")
        assert lines[index - 1].strip().startswith("#"), f"{check} has no comment saying why"
