"""Baselines on disk: ``baselines/<version>/{profile.json,reference.parquet}``.

``baselines/CURRENT`` holds ``{"version", "uri"}`` and is written last and
atomically, so a reader sees either the old baseline or the complete new one.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pandas as pd

from driftloop.drift.baseline import Baseline, Histogram
from driftloop.drift.columns import FeatureColumn
from driftloop.drift.embedding import Projection
from driftloop.errors import BaselineError, StorageError
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database

__all__ = ["current_pointer_uri", "load_baseline", "save_baseline"]

log = logging.getLogger(__name__)
PROFILE = "profile.json"
RESERVOIR = "reference.parquet"
FORMAT_VERSION = 1
BUILD_HINT = "build one with 'driftloop baseline build --images DIR' (or --features FILE)"


def current_pointer_uri(store: ArtifactStore) -> str:
    return f"{Layout(store).baselines_dir()}/CURRENT"


def _profile(b: Baseline) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "version": b.version,
        "created_at": b.created_at,
        "n_rows": b.n_rows,
        "model_version": b.model_version,
        "data_fingerprint": b.data_fingerprint,
        "columns": [{"name": c.name, "kind": c.kind, "group": c.group} for c in b.columns],
        "histograms": {k: h.to_dict() for k, h in b.histograms.items()},
        "category_counts": b.category_counts,
        "class_counts": b.class_counts,
        "confidence_counts": list(b.confidence_counts) if b.confidence_counts else None,
        "projection": b.projection.to_dict() if b.projection else None,
    }


def save_baseline(
    baseline: Baseline,
    store: ArtifactStore,
    db: Database | None = None,
    *,
    make_current: bool = True,
    uri: str | None = None,
) -> str:
    """Write the profile, record it in the database, point CURRENT at it; returns its URI.

    The folder is ``baselines/<version>/`` unless ``uri`` names another one.
    """
    from driftloop.storage.models import BaselineVersion

    folder = store.resolve(uri) if uri else f"{Layout(store).baselines_dir()}/{baseline.version}"
    buffer = io.BytesIO()
    baseline.reservoir.to_parquet(buffer, index=False)
    store.write_bytes(f"{folder}/{RESERVOIR}", buffer.getvalue())
    store.write_text(f"{folder}/{PROFILE}", json.dumps(_profile(baseline), indent=1))
    if db is not None:
        with db.session() as session:
            if make_current:
                for row in session.query(BaselineVersion).filter_by(is_current=True):
                    row.is_current = False
            row = session.get(BaselineVersion, baseline.version) or BaselineVersion(
                version=baseline.version
            )
            row.uri = folder
            row.model_version = baseline.model_version
            row.data_fingerprint = (baseline.data_fingerprint or "")[:64] or None
            row.n_rows = baseline.n_rows
            row.is_current = make_current or bool(row.is_current)
            session.add(row)
    if make_current:
        pointer = {"version": baseline.version, "uri": folder}
        store.write_text(current_pointer_uri(store), json.dumps(pointer))
    baseline.uri = folder
    log.info(
        "saved baseline %s (%d rows, %d in reservoir, %d features) to %s",
        baseline.version,
        baseline.n_rows,
        len(baseline.reservoir),
        len(baseline.columns),
        folder,
    )
    return folder


def _resolve(uri: str, store: ArtifactStore) -> str:
    if uri == "current":
        pointer_uri = current_pointer_uri(store)
        try:
            pointer = json.loads(store.read_text(pointer_uri))
        except StorageError:
            raise BaselineError(
                f"no current baseline: '{store.resolve(pointer_uri)}' does not exist; {BUILD_HINT}"
            ) from None
        except json.JSONDecodeError:
            raise BaselineError(
                f"baseline pointer '{store.resolve(pointer_uri)}' is not valid JSON; "
                f"rebuild it: {BUILD_HINT}"
            ) from None
        return str(pointer["uri"])
    resolved = store.resolve(uri)
    return resolved[: -len(PROFILE) - 1] if resolved.endswith("/" + PROFILE) else resolved


def load_baseline(uri: str, store: ArtifactStore) -> Baseline:
    """Read a baseline folder (or its profile.json), or ``"current"``."""
    folder = _resolve(uri, store)
    profile_uri = f"{folder}/{PROFILE}"
    if not store.exists(profile_uri):
        raise BaselineError(f"baseline '{profile_uri}' not found; {BUILD_HINT}")
    try:
        data = json.loads(store.read_text(profile_uri))
        reservoir = pd.read_parquet(io.BytesIO(store.read_bytes(f"{folder}/{RESERVOIR}")))
    except (json.JSONDecodeError, StorageError, OSError, ValueError) as exc:
        raise BaselineError(f"baseline '{folder}' is unreadable ({exc}); {BUILD_HINT}") from None
    if data.get("format") != FORMAT_VERSION:
        raise BaselineError(
            f"baseline '{folder}' has format {data.get('format')!r}, expected {FORMAT_VERSION}; "
            f"{BUILD_HINT}"
        )
    return Baseline(
        version=data["version"],
        n_rows=int(data["n_rows"]),
        columns=tuple(FeatureColumn(**c) for c in data["columns"]),
        reservoir=reservoir,
        histograms={k: Histogram.from_dict(v) for k, v in data["histograms"].items()},
        category_counts=data["category_counts"],
        class_counts=data["class_counts"],
        confidence_counts=tuple(data["confidence_counts"]) if data["confidence_counts"] else None,
        projection=Projection.from_dict(data["projection"]) if data["projection"] else None,
        model_version=data["model_version"],
        data_fingerprint=data["data_fingerprint"],
        created_at=data["created_at"],
        uri=folder,
    )
