"""yamllint passes on every deploy YAML file and catches a broken one."""

from __future__ import annotations

from pathlib import Path

from deploy.helpers import ROOT, require_tool, run

YAML_FILES = sorted(
    [
        ROOT / "docker-compose.yml",
        ROOT / ".checkov.yaml",
        ROOT / ".hadolint.yaml",
        ROOT / ".yamllint.yaml",
        *ROOT.glob("k8s/**/*.yaml"),
    ]
)


def test_deploy_yaml_passes_yamllint() -> None:
    assert len(YAML_FILES) >= 12
    files = [str(p.relative_to(ROOT)) for p in YAML_FILES]
    result = run([require_tool("yamllint"), "--strict", "-c", ".yamllint.yaml", *files])
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_rejects_duplicate_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n", encoding="utf-8")
    result = run([require_tool("yamllint"), "--strict", "-c", ".yamllint.yaml", str(bad)])
    assert result.returncode != 0
    assert "key-duplicates" in result.stdout
