"""One window's performance, end to end: gather, measure, estimate, check, store.

:func:`step_performance` is the monitoring step (the DAG calls it; the lead
wires it in). It keys everything on the logical date: the two
``performance_results`` rows (kind ``realised`` and ``estimated``) are upserted
on ``(run_key, kind)`` and ``runs/<date>/performance.json`` is overwritten, so a
rerun never duplicates anything.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import select

from driftloop.config import Settings
from driftloop.constants import CLASSES
from driftloop.errors import InputError, ModelError
from driftloop.monitor.runs import parse_day, run_key
from driftloop.performance.calibration import TemperatureCalibrator, load_calibrator
from driftloop.performance.cbpe import estimate_performance
from driftloop.performance.metrics import realised_performance
from driftloop.performance.result import PerformanceCheck, WindowPerformance
from driftloop.performance.thresholds import check_thresholds
from driftloop.performance.window import (
    WindowData,
    from_features,
    from_predictions_log,
    read_labels_csv,
)
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database
from driftloop.storage.models import PerformanceResult

__all__ = [
    "evaluate_window",
    "gather_window",
    "load_check",
    "performance_history",
    "reference_metrics",
    "step_performance",
]

log = logging.getLogger(__name__)

SourceName = Literal["auto", "predictions-log", "labels"]


def reference_metrics(model_uri: str | None) -> dict[str, float]:
    """The model's own scalar metrics (``metrics.json``): the base of the max-drop rule."""
    if not model_uri:
        return {}
    store = ArtifactStore(model_uri)
    uri = model_uri.rstrip("/") + "/metrics.json"
    if not store.exists(uri):
        log.warning("model '%s' has no metrics.json: the max-drop rule is skipped", model_uri)
        return {}
    try:
        raw = json.loads(store.read_text(uri))
    except ValueError as exc:
        raise ModelError(f"'{uri}' is not valid JSON ({exc}); retrain or re-evaluate") from None
    return {
        k: float(v)
        for k, v in raw.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "n"
    }


def evaluate_window(
    data: WindowData,
    calibrator: TemperatureCalibrator | None,
    settings: Settings,
    *,
    logical_date: str,
    reference: Mapping[str, float] | None = None,
    model_version: str | None = None,
) -> PerformanceCheck:
    """Realised (labelled rows) and estimated (all rows) performance, checked."""
    cfg = settings.performance
    mask = data.labelled
    realised = realised_performance(
        data.labels[mask],
        data.probabilities[mask],
        data.classes,
        min_labels=cfg.min_labels,
        resamples=cfg.bootstrap_resamples,
        level=cfg.ci_level,
        seed=cfg.seed,
    )
    estimated = estimate_performance(
        data.probabilities,
        data.classes,
        calibrator,
        min_predictions=cfg.min_labels,
        level=cfg.ci_level,
    )
    ref = dict(reference or {})
    checks = check_thresholds(realised, ref, cfg) + check_thresholds(estimated, ref, cfg)
    return PerformanceCheck(
        logical_date=logical_date,
        realised=realised,
        estimated=estimated,
        checks=tuple(checks),
        reference=ref,
        model_version=model_version,
        realised_severity=cfg.realised_severity,
        estimated_severity=cfg.estimated_severity,
        source=data.source,
    )


def gather_window(
    settings: Settings,
    day: dt.date,
    db: Database,
    store: ArtifactStore,
    *,
    source: SourceName = "auto",
    labels_csv: str | None = None,
    classes: tuple[str, ...] = CLASSES,
) -> WindowData:
    """The window's data from the predictions log or the feature table + labels CSV.

    ``auto`` uses the predictions log when it holds rows for the day, else the
    day's feature table (labelled through ``labels_csv`` or
    ``performance.labels_csv`` when one is set).
    """
    if source in ("auto", "predictions-log"):
        data = from_predictions_log(db, day, classes)
        if source == "predictions-log" or len(data.labels):
            return data
    features_dir = Layout(store).features_dir(day)
    if not store.exists(features_dir):
        raise InputError(
            f"no predictions logged and no feature table at '{features_dir}' for "
            f"{day.isoformat()}; run 'driftloop monitor step extract --date {day.isoformat()}' "
            "with a model, or log predictions through the serving API"
        )
    from driftloop.features import read_features

    csv_path = labels_csv or settings.performance.labels_csv
    labels = read_labels_csv(csv_path, day) if csv_path else {}
    return from_features(read_features(features_dir), labels, classes)


def _upsert(db: Database, day: dt.date, perf: WindowPerformance, breached: bool) -> None:
    key = run_key(day)
    with db.session() as session:
        row = session.scalar(
            select(PerformanceResult).where(
                PerformanceResult.run_key == key, PerformanceResult.kind == perf.kind
            )
        )
        if row is None:
            row = PerformanceResult(run_key=key, logical_date=day, kind=perf.kind)
            session.add(row)
        row.n_labels = perf.n if perf.kind == "realised" else 0
        row.metrics = perf.to_dict()
        row.breached = breached
        row.created_at = dt.datetime.now(dt.UTC)


def _summary(perf: WindowPerformance | None) -> dict[str, Any]:
    if perf is None:
        return {"status": "absent"}
    out: dict[str, Any] = {"status": perf.status, "n": perf.n}
    if perf.ok:
        out["accuracy"] = perf.value("accuracy")
        out["macro_f1"] = perf.value("macro_f1")
    return out


def step_performance(
    settings: Settings,
    logical_date: str | dt.date | dt.datetime,
    *,
    source: SourceName = "auto",
    labels_csv: str | None = None,
    model_uri: str | None = None,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Measure and estimate the window's performance, store it, return a small summary.

    The summary (JSON-able, for XCom): ``run_key``, ``realised`` and
    ``estimated`` (status, n, accuracy, macro_f1), ``breached``,
    ``severity_floor`` (the least severity the breach demands, or None) and
    ``uri`` of ``runs/<date>/performance.json``.
    """
    from driftloop.model import Registry

    day = parse_day(logical_date)
    database = db or Database(settings.db_url)
    artifacts = store or ArtifactStore(settings.artifacts_uri)
    try:
        uri = model_uri or Registry(database, artifacts).current_uri()
        if uri is None:
            log.warning("no current model: estimated performance and max-drop are skipped")
        calibrator = load_calibrator(uri) if uri else None
        version = calibrator.model_version if calibrator else None
        data = gather_window(
            settings, day, database, artifacts, source=source, labels_csv=labels_csv
        )
        check = evaluate_window(
            data,
            calibrator,
            settings,
            logical_date=day.isoformat(),
            reference=reference_metrics(uri),
            model_version=version or (uri.rstrip("/").rsplit("/", 1)[-1] if uri else None),
        )
        for perf in (check.realised, check.estimated):
            if perf is not None:
                _upsert(database, day, perf, check.breached(perf.kind))
        out_uri = artifacts.write_text(
            artifacts.uri("runs", day.isoformat(), "performance.json"), check.to_json()
        )
    finally:
        if db is None:
            database.dispose()
    floor = (
        check.realised_severity
        if check.breached("realised")
        else check.estimated_severity
        if check.breached("estimated")
        else None
    )
    log.info(
        "performance %s: realised %s (%d labels), estimated %s, %d breach(es)",
        day.isoformat(),
        check.realised.status if check.realised else "absent",
        data.n_labels,
        check.estimated.status if check.estimated else "absent",
        len(check.breaches),
    )
    return {
        "run_key": run_key(day),
        "source": data.source,
        "realised": _summary(check.realised),
        "estimated": _summary(check.estimated),
        "breached": bool(check.breaches),
        "breaches": [b.describe() for b in check.breaches],
        "severity_floor": floor,
        "uri": out_uri,
    }


def load_check(store: ArtifactStore, logical_date: str | dt.date) -> PerformanceCheck | None:
    """The stored ``runs/<date>/performance.json`` of a day, or None when none was made."""
    day = parse_day(logical_date)
    uri = store.uri("runs", day.isoformat(), "performance.json")
    if not store.exists(uri):
        return None
    return PerformanceCheck.from_json(store.read_text(uri))


def performance_history(db: Database, limit: int = 90) -> list[dict[str, Any]]:
    """The stored rows of the last ``limit`` days, oldest first, as plain dicts."""
    with db.session() as session:
        days = session.scalars(
            select(PerformanceResult.logical_date)
            .distinct()
            .order_by(PerformanceResult.logical_date.desc())
            .limit(limit)
        ).all()
        if not days:
            return []
        rows = session.scalars(
            select(PerformanceResult)
            .where(PerformanceResult.logical_date >= min(days))
            .order_by(PerformanceResult.logical_date, PerformanceResult.kind)
        ).all()
        return [
            {
                "logical_date": r.logical_date.isoformat(),
                "kind": r.kind,
                "n_labels": r.n_labels,
                "breached": r.breached,
                **{k: r.metrics.get(k) for k in ("status", "n", "metrics", "intervals")},
            }
            for r in rows
        ]
