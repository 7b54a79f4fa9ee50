"""``reports/index.html``: every run newest first, with severity and feature trends; retention."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import logging
from string import Template

from sqlalchemy import select

from driftloop.config import Settings
from driftloop.reports.summary import load_template
from driftloop.reports.svg import SEVERITY_COLOURS, line_chart, severity_strip
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database
from driftloop.storage.models import MonitoringRun

__all__ = ["prune", "rebuild_index"]

log = logging.getLogger(__name__)

KEY_FEATURES = 4


@dataclasses.dataclass
class _Row:
    day: str
    run_key: str
    severity: str
    status: str
    n_current: int
    n_quarantined: int
    drifted: list[str]
    effects: dict[str, float]
    model_version: str
    baseline_version: str
    files: set[str]


def _read_json(store: ArtifactStore, *uris: str | None) -> dict[str, object]:
    for uri in uris:
        if uri and store.exists(uri):
            try:
                data = json.loads(store.read_text(uri))
            except (ValueError, OSError):
                continue
            if isinstance(data, dict):
                return data
    return {}


def _effects(result: dict[str, object]) -> tuple[list[str], dict[str, float]]:
    drifted: list[str] = []
    effects: dict[str, float] = {}
    for row in result.get("features") or []:  # type: ignore[attr-defined]
        if not isinstance(row, dict):
            continue
        name = str(row.get("name"))
        if row.get("drifted"):
            drifted.append(name)
        if isinstance(row.get("effect_size"), int | float) and row.get("group", "image") == "image":
            effects[name] = float(row["effect_size"])
    return drifted, effects


def _collect(store: ArtifactStore, db: Database | None) -> list[_Row]:
    layout = Layout(store)
    rows: dict[str, _Row] = {}
    runs: list[MonitoringRun] = []
    if db is not None:
        with db.session() as session:
            runs = list(session.scalars(select(MonitoringRun)))
            session.expunge_all()
    for run in runs:
        day = run.logical_date.isoformat()
        report_json = layout.report_dir(day) + "/drift.json"
        result = _read_json(store, report_json, run.result_uri, layout.drift_json(day))
        drifted, effects = _effects(result)
        rows[run.run_key] = _Row(
            day=day,
            run_key=run.run_key,
            severity=str(run.severity or result.get("severity") or "unknown"),
            status=run.status,
            n_current=int(result.get("n_current") or run.n_accepted or 0),  # type: ignore[call-overload]
            n_quarantined=int(run.n_quarantined or result.get("n_quarantined") or 0),  # type: ignore[call-overload]
            drifted=drifted,
            effects=effects,
            model_version=str(run.model_version or result.get("model_version") or "—"),
            baseline_version=str(run.baseline_version or result.get("baseline_version") or "—"),
            files=_report_files(store, layout.report_dir(day)),
        )
    # Reports built by hand (`driftloop reports build`) have no database row; list them too.
    known_days = {r.day for r in rows.values()}
    for folder in store.listdir(layout.reports_root()):
        day = folder.rstrip("/").rsplit("/", 1)[-1]
        if day in known_days or _parse_day(day) is None:
            continue
        result = _read_json(store, folder + "/drift.json")
        if not result:
            continue
        drifted, effects = _effects(result)
        rows[f"report:{day}"] = _Row(
            day=day,
            run_key=f"report:{day}",
            severity=str(result.get("severity") or "unknown"),
            status="report only",
            n_current=int(result.get("n_current") or 0),  # type: ignore[call-overload]
            n_quarantined=int(result.get("n_quarantined") or 0),  # type: ignore[call-overload]
            drifted=drifted,
            effects=effects,
            model_version=str(result.get("model_version") or "—"),
            baseline_version=str(result.get("baseline_version") or "—"),
            files=_report_files(store, folder),
        )
    return sorted(rows.values(), key=lambda r: (r.day, r.run_key), reverse=True)


def _report_files(store: ArtifactStore, folder: str) -> set[str]:
    return {uri.rstrip("/").rsplit("/", 1)[-1] for uri in store.listdir(folder)}


def _parse_day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


def _runs_table(rows: list[_Row]) -> str:
    if not rows:
        return '<p class="muted">No monitoring runs yet: run <code>driftloop check</code>.</p>'
    body = []
    for r in rows:
        sev = html.escape(r.severity)
        pages = [("index.html", "summary"), ("evidently.html", "Evidently"), ("drift.json", "json")]
        link = (
            " · ".join(f'<a href="{r.day}/{f}">{label}</a>' for f, label in pages if f in r.files)
            if r.files
            else '<span class="muted">report pruned</span>'
        )
        names = ", ".join(r.drifted[:3]) + (f" +{len(r.drifted) - 3}" if len(r.drifted) > 3 else "")
        body.append(
            f'<tr class="run" data-severity="{sev}" '
            f'style="border-left:6px solid {SEVERITY_COLOURS.get(r.severity, "#adb5bd")}">'
            f'<td title="run {html.escape(r.run_key)}">{r.day}</td>'
            f'<td><span class="badge sev-{sev}">{sev}</span></td>'
            f'<td class="num">{len(r.drifted)}</td><td>{html.escape(names) or "—"}</td>'
            f'<td class="num">{r.n_current}</td><td class="num">{r.n_quarantined}</td>'
            f"<td>{html.escape(r.model_version)}</td><td>{html.escape(r.baseline_version)}</td>"
            f"<td>{link}</td></tr>"
        )
    return (
        '<table id="runs-table"><thead><tr><th>date</th><th>severity</th><th>drifted</th>'
        "<th>features</th><th>images</th><th>quarantined</th><th>model</th><th>baseline</th>"
        "<th>reports</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _feature_charts(chron: list[_Row], trend_features: list[str]) -> str:
    # The configured features people read (brightness, contrast, sharpness, noise,
    # confidence). Ranking by summed effect size instead would pick features whose
    # reference barely varies (bit depth, width): tiny changes, huge normed effects.
    seen = {name for r in chron for name in r.effects}
    key = [name for name in trend_features if name in seen]
    if not key:
        totals: dict[str, float] = {}
        for r in chron:
            for name, value in r.effects.items():
                totals[name] = totals.get(name, 0.0) + value
        key = sorted(totals, key=lambda n: -totals[n])[:KEY_FEATURES]
    if not key:
        return '<p class="muted">No feature effect sizes recorded yet.</p>'
    dates = [r.day for r in chron]
    return "".join(
        f'<div class="card" data-feature="{html.escape(name)}"><h3>{html.escape(name)}</h3>'
        + line_chart(dates, {name: [r.effects.get(name) for r in chron]}, title=name)
        + "</div>"
        for name in key
    )


def rebuild_index(store: ArtifactStore, db: Database | None, settings: Settings) -> str:
    """Rewrite ``reports/index.html`` from the database and the run folders; returns its URI."""
    rows = _collect(store, db)
    chron = list(reversed(rows))
    dates = [r.day for r in chron]
    latest = rows[0] if rows else None
    alerting = sum(1 for r in rows if r.severity in ("medium", "high"))
    headline = f"Latest run {latest.day}: {latest.severity}" if latest else "No monitoring runs yet"
    subline = (
        f"{len(rows)} runs from {dates[0]} to {dates[-1]}; {alerting} at medium or high severity"
        if rows
        else "reports appear here after the first run"
    )
    page = Template(load_template("index.html")).substitute(
        style=load_template("style.css"),
        latest_severity=html.escape(latest.severity if latest else "none"),
        headline=html.escape(headline),
        subline=html.escape(subline),
        severity_chart=severity_strip(dates, [r.severity for r in chron]),
        count_chart=line_chart(
            dates, {"drifted": [float(len(r.drifted)) for r in chron]}, title="drifted features"
        ),
        feature_charts=_feature_charts(chron, settings.reports.trend_features),
        n_runs=len(rows),
        runs_table=_runs_table(rows),
        footer=html.escape(
            f"Run reports are kept {settings.reports.retention_days} days; the database keeps "
            f"every run. Written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by driftloop."
        ),
    )
    uri = store.write_text(Layout(store).reports_root() + "/index.html", page)
    log.info("index: %d runs (%d medium/high) -> %s", len(rows), alerting, uri)
    return uri


def prune(store: ArtifactStore, settings: Settings, today: dt.date) -> list[str]:
    """Delete run report folders older than ``settings.reports.retention_days``.

    Only ``reports/<YYYY-MM-DD>/`` folders go; the database keeps every run.
    Returns the dates removed.
    """
    cutoff = today - dt.timedelta(days=settings.reports.retention_days)
    removed = []
    for folder in store.listdir(Layout(store).reports_root()):
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        day = _parse_day(name)
        if day is not None and day < cutoff:
            store.remove(folder)
            removed.append(name)
    log.info("prune: removed %d run reports older than %s", len(removed), cutoff)
    return removed
