"""`driftloop check`: the one-process contract other parts and CI rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftloop.cli import main
from driftloop.config import Settings
from driftloop.constants import EXIT_DRIFT, EXIT_OK
from driftloop.monitor import CHECK_KEYS, refresh_baseline
from driftloop.storage.db import Database, upgrade


@pytest.fixture
def baseline_uri(settings: Settings, demo_tiny: Path) -> str:
    upgrade(Database(settings.db_url))
    return str(refresh_baseline(settings, str(demo_tiny / "reference"))["uri"])


def test_missing_images_folder_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "check",
            "--baseline",
            str(tmp_path),
            "--images",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "images folder" in err and "nope" in err and "\n" not in err


def test_unknown_fail_on_level_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "check",
                "--baseline",
                "b",
                "--images",
                str(tmp_path),
                "--out",
                str(tmp_path),
                "--fail-on",
                "severe",
            ]
        )
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_check_writes_the_contract_and_exits_3_when_fail_on_is_reached(
    tmp_path: Path, demo_tiny: Path, baseline_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clean, drifted = tmp_path / "clean", tmp_path / "drifted"
    code = main(
        [
            "check",
            "--baseline",
            baseline_uri,
            "--images",
            str(demo_tiny / "production" / "2026-11-02"),
            "--out",
            str(clean),
            "--fail-on",
            "high",
        ]
    )
    assert code == EXIT_OK
    result = json.loads((clean / "drift.json").read_text())
    assert set(CHECK_KEYS) <= set(result)
    assert result["n_current"] > 0 and result["n_reference"] > 0
    assert result["features"] and {"name", "test", "drifted"} <= set(result["features"][0])
    assert (clean / "report" / "index.html").is_file()

    code = main(
        [
            "check",
            "--baseline",
            baseline_uri,
            "--images",
            str(demo_tiny / "production" / "2026-11-05"),
            "--out",
            str(drifted),
            "--fail-on",
            "medium",
        ]
    )
    result = json.loads((drifted / "drift.json").read_text())
    assert result["drift_detected"] is True
    assert code == EXIT_DRIFT
