"""Package-wide rules: no orchestrator imports in the library, a documented public API."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import driftloop

SRC = Path(driftloop.__file__).parent
FORBIDDEN = ("airflow", "kfp")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_library_never_imports_airflow_or_kfp() -> None:
    offenders = [
        f"{path.relative_to(SRC.parent)} imports {name}"
        for path in SRC.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_public_api_is_what_the_package_documents() -> None:
    assert sorted(driftloop.__all__) == [
        "DriftResult",
        "DriftloopError",
        "FeatureDrift",
        "GateDecision",
        "Settings",
        "__version__",
        "load_settings",
    ]
    for name in driftloop.__all__:
        assert getattr(driftloop, name) is not None


def test_every_error_derives_from_the_root() -> None:
    from driftloop import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DriftloopError)


def test_cli_start_up_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from driftloop.cli import build_parser; build_parser(); "
        "heavy = [m for m in ('tensorflow', 'evidently', 'kfp', 'airflow', 'keras', 'sklearn') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
