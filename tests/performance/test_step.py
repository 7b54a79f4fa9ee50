"""The monitoring step: windows from the predictions log or a labelled feature table, upserted."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from perf_helpers import calibrated_window
from sqlalchemy import func, select

from driftloop.config import Settings
from driftloop.constants import CLASSES
from driftloop.errors import InputError
from driftloop.performance.step import load_check, performance_history, step_performance
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database
from driftloop.storage.models import PerformanceResult, PredictionLog

DAY = dt.date(2026, 11, 5)


def log_predictions(
    db: Database, probs: np.ndarray, labels: list[str | None], at: dt.datetime
) -> None:
    with db.session() as session:
        for p, label in zip(probs, labels, strict=True):
            session.add(
                PredictionLog(
                    request_id=uuid.uuid4().hex,
                    image_sha256=uuid.uuid4().hex * 2,
                    received_at=at,
                    predicted_class=CLASSES[int(p.argmax())],
                    confidence=float(p.max()),
                    probabilities={c: float(v) for c, v in zip(CLASSES, p, strict=True)},
                    feedback_label=label,
                )
            )


def test_step_measures_and_estimates_the_predictions_log_window(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path
) -> None:
    probs, y = calibrated_window(80, seed=4)
    labels: list[str | None] = [CLASSES[i] if k < 60 else None for k, i in enumerate(y)]
    noon = dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC)
    log_predictions(db, probs, labels, noon)
    # Rows of the next UTC day belong to another window.
    log_predictions(db, probs[:10], labels[:10], dt.datetime(2026, 11, 6, 0, 0, tzinfo=dt.UTC))

    out = step_performance(settings, "2026-11-05", model_uri=str(model_folder), db=db, store=store)
    assert out["source"] == "predictions-log"
    assert out["realised"]["status"] == "ok" and out["realised"]["n"] == 60
    assert out["estimated"]["status"] == "ok" and out["estimated"]["n"] == 80
    expected = float((probs[:60].argmax(1) == y[:60]).mean())
    assert out["realised"]["accuracy"] == pytest.approx(expected)
    json.dumps(out)  # small and JSON-able, for XCom

    check = load_check(store, DAY)
    assert check is not None and check.realised is not None
    assert check.reference["accuracy"] == 0.9 and check.model_version == "m-test"
    with db.session() as s:
        rows = {r.kind: r for r in s.scalars(select(PerformanceResult)).all()}
    assert rows["realised"].n_labels == 60 and rows["realised"].run_key == "2026-11-05"
    assert rows["estimated"].metrics["status"] == "ok"


def test_rerun_of_the_same_day_updates_rows_instead_of_adding(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path
) -> None:
    probs, y = calibrated_window(40, seed=5)
    log_predictions(db, probs, [CLASSES[i] for i in y], dt.datetime(2026, 11, 5, 3, tzinfo=dt.UTC))
    for _ in range(2):
        step_performance(settings, DAY, model_uri=str(model_folder), db=db, store=store)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PerformanceResult)) == 2


def test_few_feedback_labels_store_insufficient_labels_not_a_number(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path
) -> None:
    probs, y = calibrated_window(50, seed=6)
    labels: list[str | None] = [CLASSES[i] if k < 5 else None for k, i in enumerate(y)]
    log_predictions(db, probs, labels, dt.datetime(2026, 11, 5, 8, tzinfo=dt.UTC))
    out = step_performance(settings, DAY, model_uri=str(model_folder), db=db, store=store)
    assert out["realised"] == {"status": "insufficient_labels", "n": 5}
    with db.session() as s:
        row = s.scalar(select(PerformanceResult).where(PerformanceResult.kind == "realised"))
    assert row is not None and row.metrics["metrics"] == {} and not row.breached


def write_features(store: ArtifactStore, day: dt.date, names: list[str], probs: np.ndarray) -> None:
    folder = Path(store.resolve(store.uri("runs", day.isoformat(), "features")))
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"uri": [f"/data/production/{day.isoformat()}/{n}" for n in names]})
    for k, c in enumerate(CLASSES):
        frame[f"prob_{c}"] = probs[:, k]
    frame.to_parquet(folder / "part-00000.parquet")


def test_labelled_production_folder_joins_labels_csv_by_file_name(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path, tmp_path: Path
) -> None:
    probs, y = calibrated_window(40, seed=7)
    names = [f"img_{i:05d}.jpg" for i in range(40)]
    write_features(store, DAY, names, probs)
    csv = tmp_path / "labels.csv"
    lines = ["file,class,scenario,strength"]
    lines += [
        f"production/2026-11-05/{n},{CLASSES[i]},clean,0" for n, i in zip(names, y, strict=True)
    ]
    # The same file names on another day carry other labels and must not be used.
    lines += [f"production/2026-11-06/{n},glioma,clean,0" for n in names]
    lines += ["production/2026-11-05/broken.jpg,,dirty,0"]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out = step_performance(
        settings,
        DAY,
        source="labels",
        labels_csv=str(csv),
        model_uri=str(model_folder),
        db=db,
        store=store,
    )
    assert out["source"] == "labels" and out["realised"]["n"] == 40
    assert out["realised"]["accuracy"] == pytest.approx(float((probs.argmax(1) == y).mean()))


def test_labels_csv_without_the_needed_columns_is_rejected(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path, tmp_path: Path
) -> None:
    write_features(store, DAY, ["a.jpg"], np.full((1, 4), 0.25))
    csv = tmp_path / "labels.csv"
    csv.write_text("name,label\na.jpg,glioma\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs 'file' and 'class'"):
        step_performance(
            settings,
            DAY,
            source="labels",
            labels_csv=str(csv),
            model_uri=str(model_folder),
            db=db,
            store=store,
        )


def test_a_window_with_nothing_says_what_to_run(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path
) -> None:
    with pytest.raises(InputError, match="no predictions logged and no feature table"):
        step_performance(settings, DAY, model_uri=str(model_folder), db=db, store=store)


def test_feature_table_without_model_columns_is_rejected(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path
) -> None:
    folder = Path(store.resolve(store.uri("runs", DAY.isoformat(), "features")))
    folder.mkdir(parents=True)
    pd.DataFrame({"uri": ["a.jpg"], "brightness_mean": [1.0]}).to_parquet(
        folder / "part-00000.parquet"
    )
    with pytest.raises(InputError, match="extract features with a model"):
        step_performance(settings, DAY, model_uri=str(model_folder), db=db, store=store)


def test_history_lists_both_kinds_oldest_first(
    settings: Settings, db: Database, store: ArtifactStore, model_folder: Path
) -> None:
    for day in (dt.date(2026, 11, 6), dt.date(2026, 11, 5)):
        probs, y = calibrated_window(40, seed=day.day)
        at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
        log_predictions(db, probs, [CLASSES[i] for i in y], at)
        step_performance(settings, day, model_uri=str(model_folder), db=db, store=store)
    history = performance_history(db)
    assert [(h["logical_date"], h["kind"]) for h in history] == [
        ("2026-11-05", "estimated"),
        ("2026-11-05", "realised"),
        ("2026-11-06", "estimated"),
        ("2026-11-06", "realised"),
    ]
    assert history[1]["status"] == "ok" and "accuracy" in history[1]["intervals"]
