"""SQLAlchemy 2 models: the tables every step records into.

Rows that a rerun of the same logical date would write again are keyed so the
rerun updates them (see the unique constraints) instead of adding duplicates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class MonitoringRun(Base):
    """One monitoring run: one logical date's window of one source."""

    __tablename__ = "monitoring_runs"
    __table_args__ = (UniqueConstraint("run_key", name="uq_monitoring_runs_run_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(200), index=True)
    logical_date: Mapped[dt.date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="running")
    n_listed: Mapped[int] = mapped_column(Integer, default=0)
    n_accepted: Mapped[int] = mapped_column(Integer, default=0)
    n_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    n_duplicates: Mapped[int] = mapped_column(Integer, default=0)
    severity: Mapped[str | None] = mapped_column(String(20), nullable=True)
    drift_detected: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    baseline_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    report_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    airflow_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    features: Mapped[list[DriftFeatureResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan"
    )


class DriftFeatureResult(Base):
    """One row of a run's DriftResult: one test on one feature."""

    __tablename__ = "drift_feature_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("monitoring_runs.id", ondelete="CASCADE"), index=True
    )
    feature: Mapped[str] = mapped_column(String(200))
    test: Mapped[str] = mapped_column(String(50))
    statistic: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    drifted: Mapped[bool] = mapped_column(Boolean, default=False)
    effect_size: Mapped[float | None] = mapped_column(Float, nullable=True)

    run: Mapped[MonitoringRun] = relationship(back_populates="features")


class QuarantineRecord(Base):
    """A file that failed validation, where its copy went, and why."""

    __tablename__ = "quarantine_records"
    __table_args__ = (
        UniqueConstraint("logical_date", "source_uri", name="uq_quarantine_date_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    logical_date: Mapped[dt.date] = mapped_column(Date, index=True)
    source_uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quarantine_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_code: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AlertRecord(Base):
    """Every alert attempt, sent or not, with its outcome."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(50), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="trigger")  # trigger|resolve|test
    severity: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(200), index=True)
    outcome: Mapped[str] = mapped_column(String(30))  # sent|failed|deduplicated|rate_limited
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class ModelVersion(Base):
    """A registered model version and its lifecycle stage."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    uri: Mapped[str] = mapped_column(Text)
    arch: Mapped[str] = mapped_column(String(50))
    stage: Mapped[str] = mapped_column(
        String(20), default="candidate"
    )  # candidate|champion|archived
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    macro_auc: Mapped[float | None] = mapped_column(Float, nullable=True)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    promoted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ModelEvent(Base):
    """Promotions, rejections and rollbacks, in order."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(30))  # promoted|rejected|rolled_back|registered
    actor: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BaselineVersion(Base):
    """A baseline profile the drift engine compares against."""

    __tablename__ = "baselines"

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    uri: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PipelineRun(Base):
    """A retraining pipeline run launched by driftloop (Kubeflow or kfp.local)."""

    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), index=True)
    model_name: Mapped[str] = mapped_column(String(100), default="driftloop")
    status: Mapped[str] = mapped_column(String(30), default="pending")
    backend: Mapped[str] = mapped_column(String(20), default="local")  # local|kfp
    host: Mapped[str | None] = mapped_column(Text, nullable=True)
    ui_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger: Mapped[str] = mapped_column(String(50), default="manual")
    run_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    gate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    launched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PredictionLog(Base):
    """What the serving side saw: one row per prediction, feedback joined later."""

    __tablename__ = "predictions_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    image_sha256: Mapped[str] = mapped_column(String(64), index=True)
    image_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    predicted_class: Mapped[str] = mapped_column(String(50))
    confidence: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    feedback_label: Mapped[str | None] = mapped_column(String(50), nullable=True)
    feedback_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PerformanceResult(Base):
    """Realised or estimated model performance for one window."""

    __tablename__ = "performance_results"
    __table_args__ = (UniqueConstraint("run_key", "kind", name="uq_performance_run_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(200), index=True)
    logical_date: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # realised|estimated
    n_labels: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
