"""Storage on SQLite and on a real PostgreSQL server: migrations, rows, constraints."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from driftloop.errors import StorageError
from driftloop.storage.db import Database, current_revision, downgrade, upgrade
from driftloop.storage.models import (
    AlertRecord,
    Base,
    DriftFeatureResult,
    ModelVersion,
    MonitoringRun,
    PipelineRun,
    PredictionLog,
    QuarantineRecord,
)

pytestmark = pytest.mark.postgres


def test_upgrade_creates_every_table_and_is_idempotent(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    first = current_revision(db)
    upgrade(db)
    assert current_revision(db) == first == "0001"
    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    db.dispose()


def test_migration_round_trip(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    downgrade(db, "base")
    assert current_revision(db) is None
    assert "monitoring_runs" not in sa.inspect(db.engine).get_table_names()
    upgrade(db)
    assert current_revision(db) == "0001"
    db.dispose()


def test_schema_matches_models(any_db_url: str) -> None:
    """The migration creates exactly what the models declare (no forgotten revision)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(any_db_url)
    upgrade(db)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    db.dispose()


def test_run_with_features_round_trips(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    with db.session() as s:
        run = MonitoringRun(
            run_key="2026-11-05",
            logical_date=dt.date(2026, 11, 5),
            source="x",
            n_listed=10,
            n_accepted=8,
            n_quarantined=2,
            severity="high",
            timings={"ingest": 1.5},
            details={"k": [1, 2]},
        )
        run.features.append(
            DriftFeatureResult(
                feature="mean", test="ks", statistic=0.4, p_value=1e-9, threshold=0.05, drifted=True
            )
        )
        s.add(run)
    with db.session() as s:
        got = s.scalars(sa.select(MonitoringRun)).one()
        assert got.n_listed == got.n_accepted + got.n_quarantined
        assert got.timings == {"ingest": 1.5} and got.details == {"k": [1, 2]}
        assert [f.feature for f in got.features] == ["mean"]
        s.delete(got)
    with db.session() as s:
        assert s.scalars(sa.select(DriftFeatureResult)).all() == []
    db.dispose()


def test_run_key_is_unique_so_reruns_update(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    with db.session() as s:
        s.add(MonitoringRun(run_key="2026-11-05", logical_date=dt.date(2026, 11, 5)))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(MonitoringRun(run_key="2026-11-05", logical_date=dt.date(2026, 11, 5)))
    db.dispose()


def test_quarantine_is_unique_per_date_and_source(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    row = dict(
        logical_date=dt.date(2026, 11, 5),
        source_uri="/in/a.jpg",
        reason_code="truncated",
        reason="JPEG ends after 100 of 2000 bytes",
    )
    with db.session() as s:
        s.add(QuarantineRecord(**row))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(QuarantineRecord(**row))
    db.dispose()


def test_other_tables_store_json_and_times(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    now = dt.datetime(2026, 11, 5, 12, 0, tzinfo=dt.UTC)
    with db.session() as s:
        s.add(
            AlertRecord(
                channel="slack",
                severity="high",
                dedup_key="k",
                outcome="sent",
                payload={"text": "x"},
            )
        )
        s.add(
            ModelVersion(
                version="m-1",
                uri="/m/1",
                arch="small_cnn",
                metrics={"macro_auc": 0.9},
                macro_auc=0.9,
                stage="champion",
                promoted_at=now,
            )
        )
        s.add(PipelineRun(external_id="r-1", status="running", parameters={"epochs": 2}))
        s.add(
            PredictionLog(
                request_id="q1",
                image_sha256="ab" * 32,
                predicted_class="glioma",
                confidence=0.9,
                probabilities={"glioma": 0.9},
                received_at=now,
            )
        )
    with db.session() as s:
        assert s.get(ModelVersion, "m-1").metrics == {"macro_auc": 0.9}  # type: ignore[union-attr]
        log = s.scalars(sa.select(PredictionLog)).one()
        assert log.received_at.replace(tzinfo=dt.UTC) == now
        assert s.scalars(sa.select(PipelineRun)).one().parameters == {"epochs": 2}
    db.dispose()


def test_session_rolls_back_on_error(any_db_url: str) -> None:
    db = Database(any_db_url)
    upgrade(db)
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(MonitoringRun(run_key="x", logical_date=dt.date(2026, 11, 5)))
        s.flush()
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalars(sa.select(MonitoringRun)).all() == []
    db.dispose()


def test_unmigrated_database_says_to_run_upgrade(any_db_url: str) -> None:
    db = Database(any_db_url)
    with pytest.raises(StorageError, match="driftloop db upgrade"):
        db.check_ready()
    db.dispose()


def test_unreachable_server_is_a_clear_storage_error() -> None:
    db = Database("postgresql+psycopg2://u:pw@127.0.0.1:1/none")
    assert db.ping() is False
    with pytest.raises(StorageError, match=r"cannot .*127.0.0.1:1.*DRIFTLOOP_DATABASE_URL") as err:
        upgrade(db)
    assert "pw" not in str(err.value)


def test_malformed_url_is_a_clear_storage_error() -> None:
    with pytest.raises(StorageError, match="not valid"):
        Database("postgresql+nosuchdriver://x")
