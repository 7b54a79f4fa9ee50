"""The public names of the reports and alerts packages, and their cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import driftloop.alerts
import driftloop.reports


@pytest.mark.parametrize("module", [driftloop.reports, driftloop.alerts])
def test_every_public_name_resolves(module: object) -> None:
    for name in module.__all__:  # type: ignore[attr-defined]
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # type: ignore[attr-defined]  # noqa: B018


def test_cli_modules_do_not_import_pandas_httpx_or_evidently() -> None:
    code = (
        "import sys, driftloop.reports.cli, driftloop.alerts.cli; "
        "print(sorted(m for m in ('pandas', 'httpx', 'evidently', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
