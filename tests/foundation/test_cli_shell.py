"""The CLI shell: help, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from driftloop.cli import main


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLOOP_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "driftloop", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "config" in out and "db" in out and "Exit codes" in out


def test_db_upgrade_twice_is_a_noop(tmp_path: Path) -> None:
    first = run(["db", "upgrade"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "migrated empty ->" in first.stdout
    second = run(["db", "upgrade"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already at" in second.stdout
    assert (tmp_path / "var" / "driftloop.db").is_file()


def test_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = run(
        ["db", "upgrade"],
        tmp_path,
        {"DRIFTLOOP_DATABASE_URL": "postgresql+psycopg2://u:secret@127.0.0.1:1/x"},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot" in lines[0] and "DRIFTLOOP_DATABASE_URL" in lines[0]
    assert "secret" not in lines[0]


def test_unreadable_config_file_exits_2(tmp_path: Path) -> None:
    result = run(["--config", str(tmp_path / "nope.yaml"), "config", "show"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot read config file" in result.stderr


def test_invalid_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run(["config", "show"], tmp_path, {"DRIFTLOOP_LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "log_level='LOUD'" in result.stderr


def test_config_show_redacts_and_prints_effective_values(tmp_path: Path) -> None:
    result = run(
        ["config", "show", "--format", "json"],
        tmp_path,
        {"DRIFTLOOP_ALERTS__WEBHOOK__SECRET": "s3cr3t"},
    )
    assert result.returncode == 0, result.stderr
    assert "s3cr3t" not in result.stdout
    assert "effective_database_url" in result.stdout


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    result = run(["--debug", "--config", str(tmp_path / "nope.yaml"), "config", "show"], tmp_path)
    assert result.returncode == 2
    assert "Traceback" in result.stderr
