"""Model performance in the monitoring run, and the extra sections of its report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from driftloop.config import Settings
from driftloop.monitor.runs import (
    Context,
    champion_uri,
    open_context,
    parse_day,
    run_key,
    timed,
)
from driftloop.results import DriftResult
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database

__all__ = ["report_sections", "step_performance", "with_performance"]

DateLike = str | dt.date | dt.datetime
log = logging.getLogger(__name__)


def with_performance(
    settings: Settings, ctx: Context, day: dt.date, result: DriftResult
) -> DriftResult:
    """Fold the day's performance check (if the performance step ran) into the result.

    A breach raises the severity, so alerts and the retraining decision see it;
    with ``monitor.retrain_on_performance`` off it is reported but the severity
    stays the drift-only one.
    """
    from driftloop.performance import apply_performance, load_check

    check = load_check(ctx.store, day)
    if check is None:
        return result
    with_perf = apply_performance(result, check)
    if settings.monitor.retrain_on_performance or with_perf.severity == result.severity:
        return with_perf
    return dataclasses.replace(with_perf, severity=result.severity)


def step_performance(
    settings: Settings,
    logical_date: DateLike,
    *,
    db: Database | None = None,
    store: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Realised (labels) and estimated (CBPE) performance for the day's window."""
    from driftloop.performance import step_performance as measure

    day = parse_day(logical_date)
    with open_context(settings, db, store) as ctx, timed(ctx.db, day, "performance"):
        model_uri = champion_uri(ctx)
        if model_uri is None:
            # No champion: no predictions to judge. The drift check must still run.
            log.info("performance %s: no champion model yet, nothing measured", day.isoformat())
            return {"run_key": run_key(day), "skipped": "no champion model"}
        _ensure_calibrated(settings, model_uri)
        summary = measure(settings, day, db=ctx.db, store=ctx.store)
    return dict(summary)


def report_sections(ctx: Context, run: Any) -> tuple[list[str], dict[str, str]]:
    """The retraining decision and the performance trend, when there are any."""
    from driftloop.performance import performance_history, performance_section_html
    from driftloop.reports.sections import retraining_section_html

    sections: list[str] = []
    links: dict[str, str] = {}
    retraining = (run.details or {}).get("retraining")
    if isinstance(retraining, Mapping):
        sections.append(retraining_section_html(retraining))
        if retraining.get("ui_url"):
            links["retraining_run"] = str(retraining["ui_url"])
    history = performance_history(ctx.db)
    if history:
        sections.append(performance_section_html(history))
    return sections, links


def _ensure_calibrated(settings: Settings, model_uri: str) -> None:
    """Calibrate a new champion on the labelled reference images, once.

    The estimate (CBPE) needs the champion's calibrator; the first performance
    step after a promotion fits it, so no separate job has to remember to.
    """
    from driftloop.performance import calibrate_model, load_calibrator

    reference = settings.monitor.reference_images
    if not reference or load_calibrator(model_uri) is not None:
        return
    calibrator = calibrate_model(model_uri, reference)
    log.info("calibrated the champion %s on %s: %s", model_uri, reference, calibrator)
