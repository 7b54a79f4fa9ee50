"""Tiny inline-SVG charts: no JavaScript, no network, readable in any browser.

Reports must open from disk years later, so charts are plain SVG strings
embedded in the page rather than a plotting library's bundle.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

__all__ = ["histogram_pair", "line_chart", "severity_strip"]

REF_COLOUR = "#8a99ad"
CUR_COLOUR = "#d9480f"
SEVERITY_COLOURS = {
    "none": "#2f9e44",
    "low": "#f2c200",
    "medium": "#f08c00",
    "high": "#e03131",
    "insufficient_data": "#868e96",
}


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}"


def histogram_pair(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    title: str,
    bins: int = 24,
    width: int = 320,
    height: int = 150,
) -> str:
    """Overlaid reference (grey) and current (orange) densities on shared bins."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref = ref[np.isfinite(ref)]
    cur = cur[np.isfinite(cur)]
    both = np.concatenate([ref, cur])
    label = html.escape(title)
    if both.size == 0:
        return f'<svg class="chart" role="img" aria-label="{label}: no data"></svg>'
    lo, hi = float(np.min(both)), float(np.max(both))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    ref_d = np.histogram(ref, edges)[0] / max(ref.size, 1)
    cur_d = np.histogram(cur, edges)[0] / max(cur.size, 1)
    top = float(max(ref_d.max(initial=0), cur_d.max(initial=0))) or 1.0
    pad_l, pad_b, pad_t = 6, 18, 4
    plot_w, plot_h = width - 2 * pad_l, height - pad_b - pad_t
    bar_w = plot_w / bins
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}: reference vs current histogram">'
    ]
    for densities, colour, opacity in ((ref_d, REF_COLOUR, 0.75), (cur_d, CUR_COLOUR, 0.55)):
        for i, d in enumerate(densities):
            if d <= 0:
                continue
            h = d / top * plot_h
            parts.append(
                f'<rect x="{pad_l + i * bar_w:.1f}" y="{pad_t + plot_h - h:.1f}" '
                f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" fill="{colour}" '
                f'fill-opacity="{opacity}"/>'
            )
    axis_y = pad_t + plot_h
    parts.append(
        f'<line x1="{pad_l}" y1="{axis_y}" x2="{width - pad_l}" y2="{axis_y}" stroke="#adb5bd"/>'
        f'<text x="{pad_l}" y="{height - 4}" class="tick">{_fmt(lo)}</text>'
        f'<text x="{width - pad_l}" y="{height - 4}" class="tick" text-anchor="end">{_fmt(hi)}'
        "</text></svg>"
    )
    return "".join(parts)


def line_chart(
    dates: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    width: int = 560,
    height: int = 170,
    colours: Sequence[str] = ("#1c7ed6", "#d9480f", "#2f9e44", "#ae3ec9", "#f08c00", "#495057"),
) -> str:
    """One line per series over the dates (gaps where a value is missing)."""
    label = html.escape(title)
    values = [v for s in series.values() for v in s if v is not None]
    if not dates or not values:
        return f'<svg class="chart" role="img" aria-label="{label}: no data"></svg>'
    lo, hi = min(0.0, min(values)), max(values)
    if hi <= lo:
        hi = lo + 1.0
    pad_l, pad_r, pad_t, pad_b = 40, 10, 8, 22
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    step = plot_w / max(len(dates) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad_l + i * step, pad_t + plot_h - (v - lo) / (hi - lo) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}">',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - pad_r}" y2="{pad_t + plot_h}" '
        'stroke="#adb5bd"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" class="tick" text-anchor="end">{_fmt(hi)}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" class="tick" text-anchor="end">{_fmt(lo)}'
        "</text>",
        f'<text x="{pad_l}" y="{height - 4}" class="tick">{html.escape(dates[0])}</text>',
        f'<text x="{width - pad_r}" y="{height - 4}" class="tick" text-anchor="end">'
        f"{html.escape(dates[-1])}</text>",
    ]
    for n, (name, points) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(points):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = xy(i, v)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                f"<title>{html.escape(name)} {html.escape(dates[i])}: {_fmt(v)}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                'stroke-width="1.8"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def severity_strip(dates: Sequence[str], severities: Sequence[str], *, width: int = 560) -> str:
    """One coloured cell per run, oldest left, height by severity level."""
    if not dates:
        return '<svg class="chart" role="img" aria-label="severity over time: no runs"></svg>'
    levels = {"insufficient_data": 0.15, "none": 0.2, "low": 0.45, "medium": 0.7, "high": 1.0}
    height, pad_b = 90, 18
    cell = width / len(dates)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="severity over time">'
    ]
    for i, (day, sev) in enumerate(zip(dates, severities, strict=True)):
        h = levels.get(sev, 0.15) * (height - pad_b - 4)
        parts.append(
            f'<rect x="{i * cell + 1:.1f}" y="{height - pad_b - h:.1f}" '
            f'width="{max(cell - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{SEVERITY_COLOURS.get(sev, "#868e96")}">'
            f"<title>{html.escape(day)}: {html.escape(sev)}</title></rect>"
        )
    parts.append(
        f'<text x="0" y="{height - 4}" class="tick">{html.escape(dates[0])}</text>'
        f'<text x="{width}" y="{height - 4}" class="tick" text-anchor="end">'
        f"{html.escape(dates[-1])}</text></svg>"
    )
    return "".join(parts)
