"""``driftloop demo-data``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from driftloop.cli import main


def test_contact_sheet_from_a_data_set(demo_tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    assert main(["demo-data", "--contact-sheet", str(out), "--data", str(demo_tiny)]) == 0
    with Image.open(out) as im:
        assert im.width > 600 and im.height > 1000


def test_demo_data_without_out_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-data", "--seed", "1"]) == 1
    assert "needs --out DIR" in capsys.readouterr().err


def test_contact_sheet_from_a_folder_without_data_says_how_to_make_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["demo-data", "--contact-sheet", str(tmp_path / "s.png"), "--data", str(tmp_path)])
        == 1
    )
    assert "driftloop demo-data --out" in capsys.readouterr().err
