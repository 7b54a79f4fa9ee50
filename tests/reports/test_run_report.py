"""One run's folder: Evidently agrees with the engine, files are atomic and rerunnable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from report_helpers import drift_result

from driftloop.config import Settings
from driftloop.reports import render_run_report
from driftloop.reports.evidently_report import EVIDENTLY_METHODS, write_evidently_html
from driftloop.results import DriftResult


def test_evidently_uses_each_features_own_test_and_threshold(
    tmp_path: Path, result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> None:
    used = write_evidently_html(result, current_df, reference_df, tmp_path / "e.html")
    expected = {
        f.name: (EVIDENTLY_METHODS[f.test], f.threshold)
        for f in result.features
        if f.test in EVIDENTLY_METHODS
    }
    assert used == expected  # the "mmd" embedding row has no Evidently twin and is left out
    assert (tmp_path / "e.html").stat().st_size > 100_000


def test_run_report_writes_three_self_contained_files(
    tmp_path: Path,
    settings: Settings,
    result: DriftResult,
    current_df: pd.DataFrame,
    reference_df: pd.DataFrame,
    quarantined: list[dict[str, str]],
) -> None:
    out = tmp_path / "reports" / "2026-11-08"
    paths = render_run_report(
        result,
        current_df=current_df,
        reference_df=reference_df,
        out_dir=str(out),
        settings=settings,
        quarantined=quarantined,
        links={"retraining_run": "http://kfp/runs/1"},
    )
    assert Path(paths.summary_html) == out / "index.html"
    assert json.loads(Path(paths.drift_json).read_text()) == result.to_dict()
    summary = Path(paths.summary_html).read_text()
    assert 'href="evidently.html"' in summary and 'href="http://kfp/runs/1"' in summary
    assert sorted(p.name for p in out.iterdir()) == ["drift.json", "evidently.html", "index.html"]


def test_rerun_without_shared_columns_drops_the_stale_evidently_page(
    tmp_path: Path, settings: Settings, reference_df: pd.DataFrame
) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "evidently.html").write_text("old")
    empty = reference_df.iloc[:0]
    paths = render_run_report(
        drift_result(severity="insufficient_data"),
        current_df=empty,
        reference_df=reference_df,
        out_dir=str(out),
        settings=settings,
    )
    assert paths.evidently_html is None and not (out / "evidently.html").exists()
    assert "Not enough images to decide" in (out / "index.html").read_text()
    assert 'href="evidently.html"' not in (out / "index.html").read_text()
