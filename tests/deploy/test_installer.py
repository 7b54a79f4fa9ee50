"""The validator installer is idempotent and quick on a machine that already has the tools."""

from __future__ import annotations

import time

from deploy.helpers import ROOT, TOOLS, run


def test_installer_is_a_quick_no_op_on_a_ready_machine() -> None:
    started = time.monotonic()
    result = run(["bash", "scripts/install-validators.sh"])
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ready" in result.stdout
    assert "creating" not in result.stdout and "fetching" not in result.stdout
    assert elapsed < 30, f"installer took {elapsed:.1f} s on a ready machine"
    assert (TOOLS / "docker" / "cli-plugins" / "docker-compose").resolve().is_file()


def test_setup_script_always_runs_the_installer() -> None:
    setup = (ROOT / "scripts/setup.sh").read_text(encoding="utf-8")
    assert setup.count("bash scripts/install-validators.sh") == 1
    # Nothing may leave setup early before the validators are installed.
    before = setup.split("bash scripts/install-validators.sh")[0]
    assert "exit 0" not in before
