"""``driftloop alert`` sends for a drift.json and records; ``alert test`` probes one channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from alert_helpers import HttpReceiver, result_of

from driftloop.cli import main


@pytest.fixture
def config(tmp_path: Path, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "driftloop.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "home": str(tmp_path / "var"),
                "alerts": {"retries": 0, "webhook": {"url": f"{receiver.base}/ok", "secret": "k"}},
            }
        )
    )
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    return path


def test_alert_command_sends_and_second_run_is_deduplicated(
    tmp_path: Path, config: Path, receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tmp_path / "drift.json"
    result.write_text(result_of("high").to_json())
    args = ["--config", str(config), "alert", "--result", str(result), "--run-key", "k1"]
    assert main(args) == 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "webhook: trigger sent" in out and "webhook: trigger deduplicated" in out
    assert len(receiver.requests) == 1


def test_alert_test_command_reports_the_outcome(
    config: Path, receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "alert", "test", "--channel", "webhook"]) == 0
    assert "webhook: sent" in capsys.readouterr().out
    assert main(["--config", str(config), "alert", "test", "--channel", "slack"]) == 1
    assert "'slack' is not configured" in capsys.readouterr().err


def test_alert_command_names_a_missing_result(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "alert", "--result", "missing.json"]) == 1
    assert "cannot read drift result 'missing.json'" in capsys.readouterr().err
