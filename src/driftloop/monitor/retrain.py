"""Retraining by hand and baseline refresh: what model_retrain and baseline_refresh run."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import tempfile
from collections.abc import Mapping
from typing import Any

from driftloop.config import Settings
from driftloop.errors import ConfigError
from driftloop.monitor.branch import _promoted
from driftloop.monitor.runs import champion_uri, open_context
from driftloop.monitor.steps import _plain
from driftloop.storage.artifacts import ArtifactStore

__all__ = ["launch_manual", "refresh_baseline"]

log = logging.getLogger(__name__)


def launch_manual(settings: Settings, params: Mapping[str, Any], *, run_key: str) -> dict[str, Any]:
    """Launch the retraining pipeline with ``params`` (epochs, arch, metric_min, metric_drop_tol)."""
    # Imported by name so the library never imports kfp itself.
    launcher = importlib.import_module("pipelines.launcher")
    info = _plain(
        launcher.launch(
            settings, dict(params), wait=not settings.kfp.host, trigger="manual", run_key=run_key
        )
    )
    promoted = _promoted(info)
    log.info("manual retraining %s launched, promoted=%s", run_key, promoted)
    return {"run_key": run_key, "promoted": promoted, **info}


def refresh_baseline(
    settings: Settings, images: str | None = None, *, workers: int | None = None
) -> dict[str, Any]:
    """Build a baseline of the reference images with the champion model and save it.

    The features are computed in a scratch folder: only the saved baseline is
    kept. ``workers`` as in :func:`driftloop.features.extract`.
    """
    from driftloop.drift import build_baseline, save_baseline
    from driftloop.features import extract, read_features
    from driftloop.ingest import ingest

    source = images or settings.monitor.reference_images
    if not source:
        raise ConfigError(
            "no reference images to build the baseline from; pass them (the 'images' Param) "
            "or set monitor.reference_images / DRIFTLOOP_MONITOR__REFERENCE_IMAGES"
        )
    today = dt.date.today()
    with open_context(settings) as ctx, tempfile.TemporaryDirectory(prefix="baseline-") as tmp:
        model_uri = champion_uri(ctx)
        scratch = ArtifactStore(tmp)
        summary = ingest(source, today, settings, db=None, store=scratch)
        features_dir = scratch.uri("features")
        extract(summary.manifest_uri, features_dir, settings, model_uri=model_uri, workers=workers)
        frame = read_features(features_dir)
        model_version = _model_version(ctx)
        baseline = build_baseline(frame, settings=settings, model_version=model_version)
        uri = save_baseline(baseline, ctx.store, ctx.db)
    log.info(
        "baseline %s built from %d reference images (model %s) -> %s",
        baseline.version,
        len(frame),
        model_version,
        uri,
    )
    return {
        "version": baseline.version,
        "uri": str(uri),
        "n_rows": len(frame),
        "model_version": model_version,
    }


def _model_version(ctx: Any) -> str | None:
    from driftloop.model import Registry

    current = Registry(ctx.db, ctx.store).current()
    if current is None:
        return None
    return str(getattr(current, "version", current))
