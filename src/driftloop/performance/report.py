"""The report's performance section: a trend plot (inline SVG) and the latest numbers.

Self-contained HTML (no scripts, no external files), so the reports engineer
can drop it into any page. Input is :func:`~driftloop.performance.performance_history`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["performance_section_html"]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
COLOURS = {"realised": "#1f77b4", "estimated": "#ff7f0e"}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _series(
    history: Sequence[Mapping[str, Any]], kind: str, metric: str
) -> dict[str, tuple[float, tuple[float, float] | None]]:
    out: dict[str, tuple[float, tuple[float, float] | None]] = {}
    for row in history:
        if row.get("kind") != kind or row.get("status") != "ok":
            continue
        value = _number((row.get("metrics") or {}).get(metric))
        if value is None:
            continue
        raw = (row.get("intervals") or {}).get(metric)
        band = (float(raw[0]), float(raw[1])) if raw and len(raw) == 2 else None
        out[str(row["logical_date"])] = (value, band)
    return out


def _svg(history: Sequence[Mapping[str, Any]], metric: str) -> str:
    dates = sorted({str(r["logical_date"]) for r in history})
    series = {k: _series(history, k, metric) for k in COLOURS}
    values = [v for s in series.values() for v, band in s.values()] + [
        b for s in series.values() for _, band in s.values() if band for b in band
    ]
    lo = min([*values, 0.5]) if values else 0.0
    lo = max(0.0, min(lo, 1.0) - 0.05)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: str) -> float:
        return LEFT + (dates.index(d) + 0.5) * plot_w / max(len(dates), 1)

    def y(v: float) -> float:
        return TOP + (1.0 - (v - lo) / (1.0 - lo)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(metric)} over runs" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for i in range(5):
        tick = lo + (1.0 - lo) * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#e5e5e5"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:.2f}</text>'
        )
    step = max(1, len(dates) // 8)
    for d in dates[::step]:
        parts.append(
            f'<text x="{x(d):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{d[5:]}</text>'
        )
    for kind, colour in COLOURS.items():
        points = [(d, *series[kind][d]) for d in dates if d in series[kind]]
        banded = [(d, band) for d, _v, band in points if band is not None]
        if len(banded) >= 2:
            upper = " ".join(f"{x(d):.1f},{y(b[1]):.1f}" for d, b in banded)
            lower = " ".join(f"{x(d):.1f},{y(b[0]):.1f}" for d, b in reversed(banded))
            parts.append(
                f'<polygon class="band-{kind}" points="{upper} {lower}" fill="{colour}" '
                'fill-opacity="0.15" stroke="none"/>'
            )
        for d, band in banded:
            parts.append(
                f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{y(band[0]):.1f}" '
                f'y2="{y(band[1]):.1f}" stroke="{colour}" stroke-opacity="0.5"/>'
            )
        if len(points) >= 2:
            line = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v, _b in points)
            parts.append(
                f'<polyline class="line-{kind}" points="{line}" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        for d, v, _b in points:
            parts.append(
                f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{kind} {html.escape(metric)} {d}: {v:.3f}</title></circle>"
            )
    for i, (kind, colour) in enumerate(COLOURS.items()):
        lx = LEFT + 8 + i * 110
        parts.append(
            f'<rect x="{lx}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{HEIGHT - 5}">{kind}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _cell(row: Mapping[str, Any] | None, metric: str) -> str:
    if row is None:
        return "—"
    if row.get("status") != "ok":
        return html.escape(str(row.get("status", "")).replace("_", " "))
    value = _number((row.get("metrics") or {}).get(metric))
    if value is None:
        return "n/a"
    band = (row.get("intervals") or {}).get(metric)
    text = f"{value:.3f}"
    if band:
        text += f" [{float(band[0]):.3f}, {float(band[1]):.3f}]"
    return text


def performance_section_html(history: Sequence[Mapping[str, Any]], metric: str = "accuracy") -> str:
    """An HTML ``<section>``: trend of ``metric`` (realised and estimated, with bands) + table."""
    title = "<h2>Model performance</h2>"
    if not history:
        return (
            f'<section class="performance">{title}<p>No performance measured yet: run '
            "<code>driftloop performance --date D</code>.</p></section>"
        )
    by_day: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in history:
        by_day.setdefault(str(row["logical_date"]), {})[str(row.get("kind"))] = row
    rows = []
    for day in sorted(by_day, reverse=True)[:14]:
        kinds = by_day[day]
        real, est = kinds.get("realised"), kinds.get("estimated")
        flag = any(bool(k.get("breached")) for k in kinds.values())
        attr = ' class="breach"' if flag else ""
        rows.append(
            f"<tr{attr}>"
            f"<td>{html.escape(day)}</td><td>{_cell(real, metric)}</td>"
            f"<td>{real.get('n_labels', 0) if real else 0}</td>"
            f"<td>{_cell(est, metric)}</td><td>{'BREACH' if flag else 'ok'}</td></tr>"
        )
    table = (
        f"<table><thead><tr><th>date</th><th>realised {html.escape(metric)} [CI]</th>"
        f"<th>labels</th><th>estimated {html.escape(metric)} [band]</th><th>thresholds</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    note = (
        "<p>Realised: measured on labelled images (Wilson interval). Estimated: CBPE from "
        "calibrated confidences, no labels; the band is sampling spread only and the estimate "
        "is unreliable under class-prior shift or new artefacts.</p>"
    )
    return f'<section class="performance">{title}{_svg(history, metric)}{note}{table}</section>'
