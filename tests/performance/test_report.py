"""The report's performance section: one plot with realised and estimated, bands, a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from driftloop.performance.report import performance_section_html


def row(
    day: str, kind: str, acc: float | None, status: str = "ok", breached: bool = False
) -> dict[str, Any]:
    return {
        "logical_date": day,
        "kind": kind,
        "status": status,
        "n_labels": 40 if kind == "realised" else 0,
        "breached": breached,
        "metrics": {} if acc is None else {"accuracy": acc},
        "intervals": {} if acc is None else {"accuracy": [acc - 0.05, acc + 0.05]},
    }


HISTORY = [
    row("2026-11-01", "realised", 0.86),
    row("2026-11-01", "estimated", 0.84),
    row("2026-11-02", "realised", 0.83),
    row("2026-11-02", "estimated", 0.82),
    row("2026-11-03", "realised", None, status="insufficient_labels"),
    row("2026-11-03", "estimated", 0.70, breached=True),
]


def test_section_plots_realised_and_estimated_on_one_svg(test_output: Path) -> None:
    html = performance_section_html(HISTORY)
    (test_output / "performance_section.html").write_text(html, encoding="utf-8")
    svg_text = html[html.index("<svg") : html.index("</svg>") + 6]
    svg = ElementTree.fromstring(svg_text)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    lines = {el.get("class") for el in svg.iter(f"{ns}polyline")}
    assert lines == {"line-realised", "line-estimated"}
    bands = {el.get("class") for el in svg.iter(f"{ns}polygon")}
    assert bands == {"band-realised", "band-estimated"}
    # Realised has two points (day 3 has too few labels), estimated three.
    titles = [t.text or "" for t in svg.iter(f"{ns}title")]
    assert sum(t.startswith("realised") for t in titles) == 2
    assert sum(t.startswith("estimated") for t in titles) == 3


def test_section_table_says_insufficient_labels_instead_of_a_number() -> None:
    html = performance_section_html(HISTORY)
    day3 = html[html.index("<td>2026-11-03</td>") :].split("</tr>")[0]
    assert "insufficient labels" in day3 and "BREACH" in day3 and 'class="breach"' in html
    assert "0.860 [0.810, 0.910]" in html


def test_empty_history_says_how_to_measure() -> None:
    html = performance_section_html([])
    assert "driftloop performance --date" in html and "<svg" not in html
