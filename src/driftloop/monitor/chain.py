"""Steps chained in one process: ``driftloop monitor run`` and ``driftloop check``.

Both run exactly the functions the Airflow tasks call, in the DAG's order, so
a problem seen in Airflow can be reproduced (and debugged) without it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from driftloop.config import Settings
from driftloop.errors import InputError
from driftloop.monitor import branch, steps
from driftloop.monitor.performance import step_performance
from driftloop.monitor.runs import open_context, parse_day
from driftloop.results import SEVERITY_ORDER

__all__ = ["CHECK_KEYS", "run_check", "run_monitoring"]

log = logging.getLogger(__name__)

# The keys of OUTDIR/drift.json that `driftloop check` promises to write.
CHECK_KEYS = ("drift_detected", "severity", "n_reference", "n_current", "n_quarantined", "features")


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, disable=None)


def run_monitoring(
    settings: Settings,
    logical_date: str | dt.date,
    source: str | None = None,
    *,
    baseline: str = "current",
    force_retrain: bool = False,
    dry_run: bool = False,
    retrain_severity: str | None = None,
) -> dict[str, Any]:
    """Run every step of the monitoring DAG for one date, in process; returns what each did."""
    day = parse_day(logical_date)
    out: dict[str, Any] = {"run_key": day.isoformat()}
    bar = _progress(8, f"monitor {day.isoformat()}")
    try:
        out["ingest"] = steps.step_ingest(settings, day, source)
        bar.update()
        out["extract"] = [
            steps.step_extract(settings, day, out["ingest"]["manifest_uri"], shard)
            for shard in out["ingest"]["shards"]
        ]
        bar.update()
        out["performance"] = step_performance(settings, day)
        bar.update()
        out["compare"] = steps.step_compare(settings, day, baseline)
        bar.update()
        out["report"] = steps.step_report(settings, day)
        bar.update()
        out["alert"] = steps.step_alert(settings, day, dry_run=dry_run)
        bar.update()
        decision = branch.decide(
            out["compare"]["severity"], force_retrain, settings, retrain_severity=retrain_severity
        )
        out["decision"] = decision
        bar.update()
        if decision == "launch_retraining":
            out["launch"] = branch.step_launch(
                settings, day, trigger="forced" if force_retrain else "drift"
            )
        elif decision == "schedule_retraining":
            out["schedule"] = branch.step_schedule(settings, day)
        branch.finish_run(settings, day, decision, links={})
        bar.update()
    finally:
        bar.close()
    return out


def _isolated(settings: Settings, out_dir: Path) -> Settings:
    """The settings with their own database and artifact root inside ``out_dir``.

    ``check`` must not write into the production database or run folders.
    """
    return settings.model_copy(
        update={"home": out_dir / "work", "database_url": "", "artifact_root": ""}
    )


def _absolute_baseline(settings: Settings, baseline: str) -> str:
    """The baseline as an absolute URI: check works in its own store, not the user's."""
    from driftloop.drift.persist import current_pointer_uri
    from driftloop.storage.artifacts import ArtifactStore

    if baseline == "current":
        store = ArtifactStore(settings.artifacts_uri)
        pointer = current_pointer_uri(store)
        if not store.exists(pointer):
            raise InputError(
                f"no current baseline under '{settings.artifacts_uri}'; pass --baseline URI "
                "or build one with 'driftloop baseline build'"
            )
        return str(store.resolve(str(json.loads(store.read_text(pointer))["uri"])))
    if "://" in baseline:
        return baseline
    return str(Path(baseline).resolve())


def run_check(
    settings: Settings,
    *,
    baseline: str,
    images: str,
    out_dir: Path,
    logical_date: str | dt.date | None = None,
    model_uri: str | None = None,
) -> dict[str, Any]:
    """Ingest, extract, compare and report ``images`` against ``baseline`` in one process.

    Writes ``out_dir/drift.json`` (the DriftResult plus what ``CHECK_KEYS`` names)
    and ``out_dir/report/`` and returns the JSON written.
    """
    if not images:
        raise InputError("no images given; pass --images DIR (a folder or URI of images)")
    if "://" not in images and not Path(images).exists():
        raise InputError(f"images folder '{images}' does not exist; pass an existing --images DIR")
    day = parse_day(logical_date or dt.date.today())
    baseline = _absolute_baseline(settings, baseline)
    out_dir.mkdir(parents=True, exist_ok=True)
    local = _isolated(settings, out_dir.resolve())
    bar = _progress(4, "check")
    try:
        ingested = steps.step_ingest(local, day, images)
        bar.update()
        for shard in ingested["shards"]:
            steps.step_extract(
                local,
                day,
                ingested["manifest_uri"],
                shard,
                model_uri=model_uri,
                use_champion=False,
            )
        bar.update()
        steps.step_compare(local, day, baseline)
        bar.update()
        report = steps.step_report(local, day)
        bar.update()
    finally:
        bar.close()
    with open_context(local) as ctx:
        result = steps.load_result(ctx, day).to_dict()
        report_dir = ctx.layout.report_dir(day)
    shutil.copytree(report_dir, out_dir / "report", dirs_exist_ok=True)
    result["n_quarantined"] = ingested["n_quarantined"]
    result["n_listed"] = ingested["n_listed"]
    result["report_uri"] = str(out_dir / "report" / Path(report["report_uri"]).name)
    (out_dir / "drift.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    log.info(
        "check: severity %s, drift_detected=%s, %d current images, %d quarantined -> %s",
        result["severity"],
        result["drift_detected"],
        result["n_current"],
        result["n_quarantined"],
        out_dir / "drift.json",
    )
    return result


def reaches(severity: str, fail_on: str) -> bool:
    """True when ``severity`` is at or above the ``--fail-on`` level."""
    if fail_on not in SEVERITY_ORDER or fail_on == "insufficient_data":
        raise InputError(f"--fail-on '{fail_on}' is not one of low, medium, high")
    return SEVERITY_ORDER.get(severity, -1) >= SEVERITY_ORDER[fail_on]
