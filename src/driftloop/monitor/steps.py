"""The monitoring steps: one function per DAG task, keyed on the logical date.

Each step reads its inputs from the run folder of its logical date and writes
its outputs there, so a rerun of the same date overwrites the same files and
updates the same rows. Steps take and return small JSON-able values (URIs,
counts, severity), never data: Airflow passes them between tasks as XComs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from driftloop.config import Settings
from driftloop.errors import ConfigError, InputError
from driftloop.monitor.performance import report_sections, with_performance
from driftloop.monitor.runs import (
    Context,
    champion_uri,
    get_run,
    open_context,
    parse_day,
    run_key,
    timed,
)
from driftloop.monitor.runs import update_run as _update
from driftloop.results import DriftResult
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database, upgrade
from driftloop.storage.models import AlertRecord, DriftFeatureResult

__all__ = [
    "resolve_source",
    "step_alert",
    "step_compare",
    "step_extract",
    "step_ingest",
    "step_report",
]

log = logging.getLogger(__name__)

DateLike = str | dt.date | dt.datetime


def _plain(value: Any) -> Any:
    """A library result (dataclass, tuple, path) as JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def resolve_source(settings: Settings, source: str | None, day: dt.date) -> str:
    """The source URI for ``day``: the argument or ``monitor.source``, ``{date}`` filled in."""
    template = source or settings.monitor.source
    if not template:
        raise ConfigError(
            "no image source given; pass --source URI (a Param in Airflow) or set "
            "monitor.source / DRIFTLOOP_MONITOR__SOURCE, e.g. 'data/production/{date}'"
        )
    return template.replace("{date}", day.isoformat())


def step_ingest(
    settings: Settings,
    logical_date: DateLike,
    source: str | None = None,
    *,
    airflow_run_id: str | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Validate the day's images into a manifest; record the counts on the run."""
    from driftloop.ingest import ingest

    day = parse_day(logical_date)
    uri = resolve_source(settings, source, day)
    with open_context(settings, db, store) as ctx:
        upgrade(ctx.db)
        _update(
            ctx.db,
            day,
            source=uri,
            status="running",
            finished_at=None,
            airflow_run_id=airflow_run_id,
        )
        with timed(ctx.db, day, "ingest"):
            # Feature shards of an earlier attempt must not leak into this one's compare.
            ctx.store.remove(ctx.layout.features_dir(day))
            summary = ingest(uri, day, settings, db=ctx.db, store=ctx.store)
            _update(
                ctx.db,
                day,
                n_listed=summary.n_listed,
                n_accepted=summary.n_accepted,
                n_quarantined=summary.n_quarantined,
                n_duplicates=summary.n_duplicates,
                details={"manifest_uri": summary.manifest_uri},
            )
    shards = [int(s) for s in summary.shards]
    out: dict[str, Any] = {
        "run_key": run_key(day),
        "manifest_uri": summary.manifest_uri,
        "n_listed": summary.n_listed,
        "n_accepted": summary.n_accepted,
        "n_quarantined": summary.n_quarantined,
        "n_duplicates": summary.n_duplicates,
        "shards": shards,
    }
    log.info(
        "ingest %s: %d listed, %d accepted, %d quarantined, %d shards",
        uri,
        summary.n_listed,
        summary.n_accepted,
        summary.n_quarantined,
        len(shards),
    )
    return out


def step_extract(
    settings: Settings,
    logical_date: DateLike,
    manifest_uri: str | None = None,
    shard: int | None = None,
    *,
    model_uri: str | None = None,
    use_champion: bool = True,
    workers: int | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Extract the features of one manifest shard (all shards when ``shard`` is None).

    ``workers`` as in :func:`driftloop.features.extract` (None: ``features.workers``).
    """
    from driftloop.features import extract

    day = parse_day(logical_date)
    with open_context(settings, db, store) as ctx:
        manifest = manifest_uri or ctx.layout.manifest(day)
        if model_uri is None and use_champion:
            model_uri = champion_uri(ctx)
        with timed(ctx.db, day, "extract" if shard is None else f"extract[{shard}]"):
            summary = extract(
                manifest,
                ctx.layout.features_dir(day),
                settings,
                shard=shard,
                model_uri=model_uri,
                workers=workers,
            )
        if model_uri:
            _update(ctx.db, day, details={"model_uri": model_uri})
    log.info("extract %s shard %s: %d rows", day.isoformat(), shard, summary.n_rows)
    return {
        "shard": shard,
        "uris": [str(u) for u in summary.uris],
        "n_rows": int(summary.n_rows),
        "model_uri": model_uri,
    }


def _read_current(ctx: Context, day: dt.date) -> Any:
    from driftloop.features import read_features

    return read_features(ctx.layout.features_dir(day))


def step_compare(
    settings: Settings,
    logical_date: DateLike,
    baseline: str = "current",
    *,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Compare the day's features with the baseline; write drift.json and the rows."""
    from driftloop.drift import compare, load_baseline

    day = parse_day(logical_date)
    with open_context(settings, db, store) as ctx:
        run = get_run(ctx.db, day)
        with timed(ctx.db, day, "compare"):
            base = load_baseline(baseline, ctx.store)
            current = _read_current(ctx, day)
            result = compare(
                base,
                current,
                settings,
                n_quarantined=run.n_quarantined,
                logical_date=day.isoformat(),
            )
            result = with_performance(settings, ctx, day, result)
            result_uri = ctx.store.write_text(ctx.layout.drift_json(day), result.to_json())
            _replace_feature_rows(ctx, run.id, result)
            _update(
                ctx.db,
                day,
                severity=result.severity,
                drift_detected=result.drift_detected,
                baseline_version=result.baseline_version or getattr(base, "version", None),
                model_version=result.model_version,
                result_uri=result_uri,
                details={"baseline": baseline},
            )
    log.info(
        "compare %s: severity %s, %d of %d tests drifted (%d current vs %d reference rows)",
        day.isoformat(),
        result.severity,
        len(result.drifted_features),
        len(result.features),
        result.n_current,
        result.n_reference,
    )
    return {
        "run_key": run_key(day),
        "severity": result.severity,
        "drift_detected": result.drift_detected,
        "n_current": result.n_current,
        "n_reference": result.n_reference,
        "n_drifted": len(result.drifted_features),
        "result_uri": result_uri,
    }


def _replace_feature_rows(ctx: Context, run_id: int, result: DriftResult) -> None:
    with ctx.db.session() as session:
        session.execute(delete(DriftFeatureResult).where(DriftFeatureResult.run_id == run_id))
        session.add_all(
            DriftFeatureResult(
                run_id=run_id,
                feature=f.name,
                test=f.test,
                statistic=f.statistic,
                p_value=f.p_value,
                threshold=f.threshold,
                drifted=f.drifted,
                effect_size=f.effect_size,
            )
            for f in result.features
        )


def load_result(ctx: Context, day: dt.date) -> DriftResult:
    """The day's DriftResult from drift.json (written by step_compare)."""
    uri = ctx.layout.drift_json(day)
    if not ctx.store.exists(uri):
        raise InputError(
            f"no drift result at '{uri}'; run 'driftloop monitor step compare "
            f"--date {day.isoformat()}' first"
        )
    return DriftResult.from_json(ctx.store.read_text(uri))


def _quarantined(ctx: Context, day: dt.date) -> list[dict[str, str]]:
    import pandas as pd

    uri = ctx.layout.manifest(day)
    if not ctx.store.exists(uri):
        return []
    with ctx.store.local_copy(uri) as path:
        manifest = pd.read_parquet(path, columns=["uri", "status", "reason_code", "reason"])
    bad = manifest[manifest["status"] != "accepted"]
    return [
        {"uri": str(r.uri), "reason_code": str(r.reason_code), "reason": str(r.reason)}
        for r in bad.itertuples()
    ]


def step_report(
    settings: Settings,
    logical_date: DateLike,
    *,
    links: Mapping[str, str] | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Render the day's report pages, rebuild the index of all runs, prune old ones."""
    from driftloop.drift import load_baseline
    from driftloop.reports import prune, rebuild_index, render_run_report

    day = parse_day(logical_date)
    with open_context(settings, db, store) as ctx:
        run = get_run(ctx.db, day)
        with timed(ctx.db, day, "report"):
            result = load_result(ctx, day)
            base = load_baseline(str(run.details.get("baseline") or "current"), ctx.store)
            sections, extra_links = report_sections(ctx, run)
            paths = render_run_report(
                result,
                current_df=_read_current(ctx, day),
                reference_df=base.reference_frame(),
                out_dir=ctx.layout.report_dir(day),
                settings=settings,
                quarantined=_quarantined(ctx, day),
                links={**dict(links or {}), **extra_links},
                sections=sections,
            )
            # Prune first: the index must not link to a folder that is about to go.
            prune(ctx.store, settings, day)
            rebuild_index(ctx.store, ctx.db, settings)
            report = _plain(paths)
            report_uri = _main_page(report, ctx.layout.report_dir(day))
            _update(ctx.db, day, report_uri=report_uri, details={"report": report})
    log.info("report %s: %s", day.isoformat(), report_uri)
    return {"run_key": run_key(day), "report_uri": report_uri, "paths": report}


def _main_page(paths: Any, report_dir: str) -> str:
    if isinstance(paths, Mapping):
        for key in ("summary", "index", "html", "summary_html"):
            if paths.get(key):
                return str(paths[key])
    return f"{report_dir}/index.html"


def step_alert(
    settings: Settings,
    logical_date: DateLike,
    *,
    dry_run: bool = False,
    report_url: str | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Send the day's alert through the configured channels (deduplicated by the alerts part)."""
    from driftloop.alerts import dispatch

    day = parse_day(logical_date)
    with open_context(settings, db, store) as ctx:
        run = get_run(ctx.db, day)
        if dry_run:
            log.info("alert %s: dry run, nothing sent", day.isoformat())
            return {"run_key": run_key(day), "dry_run": True, "outcomes": []}
        with timed(ctx.db, day, "alert"):
            result = load_result(ctx, day)
            earlier = _delivered(ctx, run_key(day), result.severity)
            if earlier:
                log.info(
                    "alert %s: severity %s already alerted (%s), not sent again",
                    day.isoformat(),
                    result.severity,
                    ", ".join(o["channel"] for o in earlier),
                )
                return {
                    "run_key": run_key(day),
                    "dry_run": False,
                    "outcomes": earlier,
                    "already_alerted": True,
                }
            outcomes = _plain(
                dispatch(
                    result,
                    settings,
                    ctx.db,
                    run_key=run_key(day),
                    report_url=report_url or run.report_uri,
                )
            )
            _update(ctx.db, day, details={"alerts": outcomes})
    log.info("alert %s: %d channel outcome(s)", day.isoformat(), len(outcomes))
    return {"run_key": run_key(day), "dry_run": False, "outcomes": outcomes}


def _delivered(ctx: Context, key: str, severity: str) -> list[dict[str, Any]]:
    """The channels' last outcomes for this run and severity, when none of them failed.

    A rerun of a date must not alert twice, nor add "deduplicated" rows to the
    history; a channel that failed before is tried again.
    """
    with ctx.db.session() as session:
        rows = session.scalars(
            select(AlertRecord)
            .where(AlertRecord.run_key == key, AlertRecord.kind == "trigger")
            .order_by(AlertRecord.id)
        ).all()
    last = {row.channel: row for row in rows if row.severity == severity}
    if not last or any(row.outcome == "failed" for row in last.values()):
        return []
    return [
        {"channel": r.channel, "outcome": r.outcome, "severity": r.severity} for r in last.values()
    ]


def run_summary(ctx: Context, day: dt.date) -> dict[str, Any]:
    """The recorded state of the day's run, as the CLI prints it."""
    run = get_run(ctx.db, day)
    return {
        "run_key": run.run_key,
        "status": run.status,
        "severity": run.severity,
        "drift_detected": run.drift_detected,
        "n_listed": run.n_listed,
        "n_accepted": run.n_accepted,
        "n_quarantined": run.n_quarantined,
        "report_uri": run.report_uri,
        "result_uri": run.result_uri,
        "timings": dict(run.timings or {}),
        "decision": (run.details or {}).get("decision"),
    }
