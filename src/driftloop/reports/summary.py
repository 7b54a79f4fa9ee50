"""The driftloop summary page for one run: what a person reads first.

Order matters: the severity banner answers "is this bad?", the effect-size
table answers "what changed and by how much?", the histograms and thumbnails
show it. Everything is inline (SVG, base64 JPEG, CSS) so the file opens from disk.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from driftloop.reports.images import rank_atypical, thumbnail_data_uri
from driftloop.reports.svg import histogram_pair
from driftloop.results import DriftResult, FeatureDrift

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load_template", "render_summary_html", "sorted_by_effect"]

LINK_LABELS = {
    "airflow_run": "Airflow run",
    "retraining_run": "Retraining run",
    "evidently": "Evidently report",
    "drift_json": "drift.json",
    "index": "All runs",
}


def load_template(name: str) -> str:
    """Read a packaged template (``driftloop/reports/templates/NAME``)."""
    return (resources.files("driftloop.reports") / "templates" / name).read_text("utf-8")


def sorted_by_effect(features: Sequence[FeatureDrift]) -> list[FeatureDrift]:
    """Largest effect first; rows without an effect size last, drifted before not."""
    return sorted(
        features,
        key=lambda f: (f.effect_size is None, -(f.effect_size or 0.0), not f.drifted, f.name),
    )


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def _medians(name: str, current_df: pd.DataFrame, reference_df: pd.DataFrame) -> str:
    """``ref → cur (±x%)``: the change a person can picture."""
    if not _numeric_in_both(name, current_df, reference_df):
        return "—"
    ref, cur = float(reference_df[name].median()), float(current_df[name].median())
    change = f" ({(cur - ref) / abs(ref):+.0%})" if ref else ""
    return f"{_num(ref)} → {_num(cur)}{change}"


def _feature_table(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame
) -> str:
    rows = sorted_by_effect(result.features)
    if not rows:
        return '<p class="muted">No feature was tested.</p>'
    top = max((f.effect_size or 0.0) for f in rows) or 1.0
    body = []
    for f in rows:
        width = int(120 * (f.effect_size or 0.0) / top)
        p_value = f.p_adjusted if f.p_adjusted is not None else f.p_value
        badge = (
            '<span class="badge yes">drifted</span>'
            if f.drifted
            else ('<span class="badge no">no</span>')
        )
        body.append(
            f'<tr class="{"drifted" if f.drifted else "stable"}" data-feature="{html.escape(f.name)}">'
            f"<td>{html.escape(f.name)}</td><td>{badge}</td>"
            f'<td class="num">{_num(f.effect_size)}</td>'
            f'<td><span class="bar" style="width:{width}px"></span></td>'
            f'<td class="num">{html.escape(_medians(f.name, current_df, reference_df))}</td>'
            f'<td>{html.escape(f.test)}</td><td class="num">{_num(f.statistic)}</td>'
            f'<td class="num">{_num(p_value)}</td><td class="num">{_num(f.threshold)}</td>'
            f"<td>{html.escape(f.group)}</td></tr>"
        )
    return (
        '<table id="feature-table"><thead><tr><th>feature</th><th>drifted</th>'
        "<th>effect size</th><th></th><th>median ref → current</th><th>test</th><th>statistic</th><th>p (adjusted)</th>"
        "<th>threshold</th><th>group</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _numeric_in_both(name: str, current_df: pd.DataFrame, reference_df: pd.DataFrame) -> bool:
    import pandas as pd

    return (
        name in current_df.columns
        and name in reference_df.columns
        and pd.api.types.is_numeric_dtype(current_df[name])
        and pd.api.types.is_numeric_dtype(reference_df[name])
    )


def _histograms(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame, top_n: int
) -> str:
    chosen = [
        f
        for f in sorted_by_effect(result.features)
        if f.group == "image" and _numeric_in_both(f.name, current_df, reference_df)
    ][:top_n]
    if not chosen:
        return '<p class="muted">No numerical image feature in both tables.</p>'
    cards = []
    for f in chosen:
        verdict = "drifted" if f.drifted else "stable"
        cards.append(
            f'<div class="card hist" data-feature="{html.escape(f.name)}">'
            f"<h3>{html.escape(f.name)} "
            f'<span class="badge {"yes" if f.drifted else "no"}">{verdict}</span></h3>'
            + histogram_pair(reference_df[f.name], current_df[f.name], title=f.name)
            + f'<div class="note">median {html.escape(_medians(f.name, current_df, reference_df))}'
            f" · effect size {_num(f.effect_size)} · {html.escape(f.test)} "
            f"{_num(f.statistic)} (threshold {_num(f.threshold)})</div></div>"
        )
    return "".join(cards)


def _class_shares(current_df: pd.DataFrame, reference_df: pd.DataFrame) -> str:
    if "pred_class" not in current_df.columns:
        return ""
    cur = current_df["pred_class"].astype(str).value_counts(normalize=True)
    ref = (
        reference_df["pred_class"].astype(str).value_counts(normalize=True)
        if "pred_class" in reference_df.columns
        else cur * 0
    )
    rows = []
    for name in sorted(set(cur.index) | set(ref.index)):
        r, c = float(ref.get(name, 0.0)), float(cur.get(name, 0.0))
        rows.append(
            f"<tr><td>{html.escape(name)}</td>"
            f'<td><span class="bar" style="width:{int(150 * r)}px;background:var(--ref)"></span> '
            f"{r:.0%}</td>"
            f'<td><span class="bar" style="width:{int(150 * c)}px"></span> {c:.0%}</td></tr>'
        )
    return (
        '<div class="card" id="class-shares"><h3>Predicted class shares</h3>'
        '<table class="shares"><thead><tr><th>class</th><th>reference</th><th>current</th></tr>'
        "</thead><tbody>" + "".join(rows) + "</tbody></table></div>"
    )


def _model_outputs(current_df: pd.DataFrame, reference_df: pd.DataFrame) -> str:
    parts = [_class_shares(current_df, reference_df)]
    if _numeric_in_both("confidence", current_df, reference_df):
        parts.append(
            '<div class="card" id="confidence"><h3>Model confidence</h3>'
            + histogram_pair(
                reference_df["confidence"], current_df["confidence"], title="confidence"
            )
            + f'<div class="note">median reference {reference_df["confidence"].median():.2f}'
            f" · current {current_df['confidence'].median():.2f}</div></div>"
        )
    shown = "".join(parts)
    return shown or '<p class="muted">No model outputs in the feature table.</p>'


def _thumb(uri: str, caption: str, why: str, css: str = "") -> str:
    name = html.escape(uri.rsplit("/", 1)[-1])
    src = thumbnail_data_uri(uri)
    img = (
        f'<img src="{src}" alt="{name}">'
        if src
        else '<div class="noimg">no preview<br>(not decodable)</div>'
    )
    return (
        f'<div class="thumb {css}" title="{html.escape(uri)}">{img}'
        f'<div class="name">{name}</div><div class="why">{html.escape(why)}</div>'
        f'<div class="muted">{html.escape(caption)}</div></div>'
    )


def _atypical(
    result: DriftResult, current_df: pd.DataFrame, reference_df: pd.DataFrame, limit: int
) -> str:
    image_features = [f for f in result.features if f.group == "image" and f.kind == "numerical"]
    features = [f.name for f in image_features if f.drifted] or [f.name for f in image_features]
    ranked = rank_atypical(current_df, reference_df, features, limit=limit)
    if not ranked:
        return '<p class="muted">No current images to rank.</p>'
    return "".join(
        _thumb(a.uri, f"score {a.score:.1f}", f"{a.feature} z={a.z:+.1f}") for a in ranked
    )


def _quarantined(quarantined: Sequence[Mapping[str, str]], limit: int = 24) -> str:
    if not quarantined:
        return '<p class="muted">No file was quarantined.</p>'
    tiles = [
        _thumb(q.get("uri", "?"), q.get("reason", ""), q.get("reason_code", "?"), "q")
        for q in list(quarantined)[:limit]
    ]
    more = len(quarantined) - limit
    extra = (
        f'<p class="muted">… and {more} more (see the quarantine folder).</p>' if more > 0 else ""
    )
    return '<div class="thumbs" id="quarantine-grid">' + "".join(tiles) + "</div>" + extra


def _why(result: DriftResult) -> str:
    """The numbers the severity rule used, in one short line (the rule is in the footer)."""
    facts = result.details.get("severity_inputs") if result.details else None
    if not isinstance(facts, Mapping) or "n_image_features" not in facts:
        return html.escape(result.severity_rule)
    parts = [
        f"{facts.get('n_image_drifted', 0)} of {facts.get('n_image_features', 0)} image "
        f"features drifted ({100 * float(facts.get('share_image_drifted', 0)):.0f}%)"
    ]
    if facts.get("n_image_drifted"):
        parts.append(f"largest effect size {float(facts.get('max_image_effect', 0)):.2f}")
    if facts.get("n_model_drifted"):
        parts.append(f"{facts['n_model_drifted']} model-side test(s) drifted")
    if facts.get("n_container_drifted"):
        parts.append(f"{facts['n_container_drifted']} file-container feature(s) changed")
    performance = result.details.get("performance") if result.details else None
    if isinstance(performance, Mapping) and performance.get("breached"):
        breached = [c for c in performance.get("checks") or [] if c.get("breached")]
        parts.append(f"{len(breached)} performance threshold(s) breached")
    return html.escape("; ".join(parts)) + ' · <a href="#rule">severity rule</a>'


def _headline(result: DriftResult) -> tuple[str, str]:
    drifted = result.drifted_features
    if result.severity == "insufficient_data":
        return (
            f"Not enough images to decide: {result.n_current} current",
            html.escape(result.severity_rule.split(";")[0]),
        )
    if not drifted:
        return "No drift: production images look like the reference", _why(result)
    names = ", ".join(f.name for f in sorted_by_effect(drifted)[:4])
    more = f" and {len(drifted) - 4} more" if len(drifted) > 4 else ""
    return (
        f"{len(drifted)} of {len(result.features)} tests drifted: {html.escape(names)}{more}",
        _why(result),
    )


def render_summary_html(
    result: DriftResult,
    *,
    current_df: pd.DataFrame,
    reference_df: pd.DataFrame,
    top_features: int,
    quarantined: Sequence[Mapping[str, str]] = (),
    links: Mapping[str, str] = {},
    thumbnails: int = 12,
    sections: Sequence[str] = (),
) -> str:
    """The full summary page as one self-contained HTML string.

    ``sections`` are extra self-contained HTML blocks (the retraining decision,
    model performance) placed after the model outputs.
    """
    headline, subline = _headline(result)
    day = result.logical_date or "unknown date"
    facts = [
        (day, "logical date"),
        (str(result.n_current), "current images"),
        (str(result.n_reference), "reference images"),
        (str(max(result.n_quarantined, len(quarantined))), "quarantined"),
        (result.model_version or "—", "model version"),
        (result.baseline_version or "—", "baseline"),
    ]
    link_html = " ".join(
        f'<a href="{html.escape(url)}" data-link="{html.escape(key)}">'
        f"{html.escape(LINK_LABELS.get(key, key))}</a>"
        for key, url in links.items()
        if url
    )
    footer = (
        f'<span id="rule">Severity rule: {html.escape(result.severity_rule)}.</span><br>'
        f"Tests corrected with {html.escape(result.correction)} at alpha {result.alpha}. "
        f"Result created {html.escape(result.created_at or '—')}; page written "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by driftloop."
    )
    return Template(load_template("summary.html")).substitute(
        title=html.escape(f"driftloop {day}: {result.severity}"),
        style=load_template("style.css"),
        severity=html.escape(result.severity),
        severity_label=html.escape(result.severity.replace("_", " ")),
        headline=headline,
        subline=subline,
        facts="".join(
            f'<div class="fact"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>'
            for v, k in facts
        ),
        links=link_html,
        feature_table=_feature_table(result, current_df, reference_df),
        histograms=_histograms(result, current_df, reference_df, top_features),
        model_outputs=_model_outputs(current_df, reference_df),
        sections="\n".join(sections),
        atypical=_atypical(result, current_df, reference_df, thumbnails),
        n_quarantined=len(quarantined),
        quarantined=_quarantined(quarantined),
        footer=footer,
    )
