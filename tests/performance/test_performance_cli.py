"""``driftloop performance``: one window from the command line, and its errors."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from perf_helpers import calibrated_window

from driftloop.cli import main
from driftloop.constants import CLASSES
from driftloop.storage.db import Database, upgrade
from driftloop.storage.models import PredictionLog


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in __import__("os").environ if n.startswith("DRIFTLOOP_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DRIFTLOOP_HOME", str(tmp_path / "var"))
    (tmp_path / "var").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'var' / 'driftloop.db'}")
    upgrade(db)
    probs, y = calibrated_window(40, seed=9)
    with db.session() as s:
        for p, label in zip(probs, y, strict=True):
            s.add(
                PredictionLog(
                    request_id=uuid.uuid4().hex,
                    image_sha256="0" * 64,
                    received_at=dt.datetime(2026, 11, 5, 10, tzinfo=dt.UTC),
                    predicted_class=CLASSES[int(p.argmax())],
                    confidence=float(p.max()),
                    probabilities=dict(zip(CLASSES, map(float, p), strict=True)),
                    feedback_label=CLASSES[int(label)],
                )
            )
    db.dispose()
    return tmp_path


def test_performance_for_one_date_prints_both_kinds(
    home: Path, model_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["performance", "--date", "2026-11-05", "--model", str(model_folder)])
    out = capsys.readouterr().out
    assert code == 0
    assert "realised:  accuracy" in out and "(n=40)" in out
    assert "estimated: accuracy" in out
    assert (home / "var" / "runs" / "2026-11-05" / "performance.json").is_file()


def test_performance_json_holds_the_full_check(
    home: Path, model_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["performance", "--date", "2026-11-05", "--model", str(model_folder), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["check"]["realised"]["confusion_matrix"]
    assert data["check"]["estimated"]["details"]["method"] == "cbpe"


def test_performance_without_a_date_is_a_usage_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["performance"]) == 1
    assert "pass --date YYYY-MM-DD" in capsys.readouterr().err


def test_performance_with_a_bad_date_names_it(
    home: Path, model_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["performance", "--date", "05/11/2026", "--model", str(model_folder)]) == 1
    assert "05/11/2026" in capsys.readouterr().err


def test_calibrate_without_a_current_model_says_what_to_do(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["performance", "calibrate", "--model", "current", "--data", str(home)])
    assert code == 1
    assert "no model is current" in capsys.readouterr().err
