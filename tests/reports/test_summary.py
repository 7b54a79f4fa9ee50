"""The summary page: severity first, features by effect size, charts and thumbnails inline."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from report_helpers import drift_result

from driftloop.reports.images import rank_atypical, thumbnail_data_uri
from driftloop.reports.summary import render_summary_html, sorted_by_effect
from driftloop.reports.svg import histogram_pair, line_chart
from driftloop.results import DriftResult


def page(result: DriftResult, current: pd.DataFrame, reference: pd.DataFrame, **kw: object) -> str:
    return render_summary_html(
        result,
        current_df=current,
        reference_df=reference,
        top_features=4,
        **kw,  # type: ignore[arg-type]
    )


def test_banner_names_severity_and_the_largest_drifts_first(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> None:
    html = page(result, current_df, reference_df)
    assert 'class="banner sev-high"' in html
    assert "6 of 11 tests drifted: sharpness, mean, noise, confidence and 2 more" in html
    table = re.findall(r'<tr class="\w+" data-feature="(\w+)"', html)
    assert table[:3] == ["sharpness", "mean", "noise"]
    assert table == [f.name for f in sorted_by_effect(result.features)]


def test_histograms_cover_the_top_image_features_only(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> None:
    html = page(result, current_df, reference_df)
    shown = re.findall(r'<div class="card hist" data-feature="(\w+)"', html)
    assert shown == ["sharpness", "mean", "noise", "entropy"]  # model/embedding rows excluded


def test_page_is_self_contained(
    result: DriftResult,
    current_df: pd.DataFrame,
    reference_df: pd.DataFrame,
    quarantined: list[dict[str, str]],
) -> None:
    html = page(
        result,
        current_df,
        reference_df,
        quarantined=quarantined,
        links={"airflow_run": "http://a/x"},
    )
    assert "<script" not in html
    srcs = re.findall(r'src="([^"]+)"', html)
    assert srcs and all(s.startswith("data:image/jpeg;base64,") for s in srcs)
    assert 'href="http://a/x" data-link="airflow_run"' in html
    assert "image file is truncated" in html and "decode_error" in html
    assert html.count("not decodable") == 2  # quarantined files get a placeholder tile


def test_no_drift_page_says_so(current_df: pd.DataFrame, reference_df: pd.DataFrame) -> None:
    html = page(drift_result(severity="none"), current_df, reference_df)
    assert 'class="banner sev-none"' in html and "No drift" in html
    assert "No file was quarantined." in html


def test_class_shares_and_confidence_are_shown(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> None:
    html = page(result, current_df, reference_df)
    assert 'id="class-shares"' in html and 'id="confidence"' in html
    assert "notumor" in html


def test_most_atypical_images_rank_first(
    current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> None:
    ranked = rank_atypical(current_df, reference_df, ["mean", "sharpness"], limit=12)
    strong = {u for i, u in enumerate(current_df["uri"]) if i % 5 == 0}
    assert {a.uri for a in ranked} == strong
    assert ranked[0].score >= ranked[-1].score and ranked[0].feature in ("mean", "sharpness")


def test_atypical_ranking_survives_constant_reference_and_missing_columns() -> None:
    reference = pd.DataFrame({"uri": ["r1", "r2"], "mean": [5.0, 5.0]})
    current = pd.DataFrame({"uri": ["a", "b"], "mean": [5.0, 9.0]})
    ranked = rank_atypical(current, reference, ["mean", "not_a_column"])
    assert [a.uri for a in ranked] == ["b", "a"] and np.isfinite(ranked[0].score)
    assert rank_atypical(current, reference, ["not_a_column"]) == []


def test_thumbnail_is_none_for_undecodable_or_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8 broken")
    assert thumbnail_data_uri(str(bad)) is None
    assert thumbnail_data_uri(str(tmp_path / "missing.jpg")) is None
    assert thumbnail_data_uri("s3://bucket/remote.jpg") is None


def test_svg_charts_handle_empty_and_constant_data() -> None:
    assert "no data" in histogram_pair([], [], title="x")
    assert "<rect" in histogram_pair([1.0, 1.0], [1.0], title="flat")
    assert "no data" in line_chart(["d1"], {"s": [None]}, title="t")
    two = line_chart(["d1", "d2", "d3"], {"s": [1.0, None, 2.0]}, title="gap")
    assert two.count("<circle") == 2 and "<polyline" in two


def test_feature_rows_show_the_median_change(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> None:
    html = page(result, current_df, reference_df)
    row = re.search(r'<tr class="drifted" data-feature="sharpness">(.*?)</tr>', html)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    ref, cur = reference_df["sharpness"].median(), current_df["sharpness"].median()
    assert cells[4] == f"{ref:.3g} → {cur:.3g} ({(cur - ref) / abs(ref):+.0%})"
    header = re.findall(r"<th>(.*?)</th>", html.split("</thead>")[0])
    assert len(header) == len(cells)
