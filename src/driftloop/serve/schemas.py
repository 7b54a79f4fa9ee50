"""Request and response bodies of the serving API (they make up its OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ErrorResponse",
    "FeatureDriftOut",
    "FeedbackJSON",
    "FeedbackResponse",
    "HealthResponse",
    "PredictJSON",
    "PredictResponse",
    "ReloadResponse",
    "RunDetail",
    "RunSummary",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: a stable code and a sentence saying what to do."""

    error: str = Field(description="stable machine-readable code, e.g. not_an_image")
    detail: str = Field(description="what was wrong, with the value, and what to do")


class PredictJSON(_Body):
    """A /predict body sent as JSON instead of a multipart upload."""

    image_base64: str = Field(description="the image file's bytes, base64-encoded")
    filename: str | None = Field(None, max_length=255, description="optional original name")


class PredictResponse(BaseModel):
    """The model's answer for one image."""

    request_id: str = Field(description="quote it to POST /feedback")
    predicted_class: str
    confidence: float = Field(ge=0, le=1)
    probabilities: dict[str, float] = Field(description="class -> probability")
    model_version: str
    image_sha256: str


class FeedbackJSON(_Body):
    """The true label of an earlier prediction, named by its request id."""

    request_id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=50, description="one of the model's classes")


class FeedbackResponse(BaseModel):
    """Where the labelled image went and which log row carries the label."""

    request_id: str
    label: str
    image_uri: str = Field(description="the copy under feedback/<label>/ used by retraining")
    created: bool = Field(description="True when the image had no prediction row yet")


class HealthResponse(BaseModel):
    """Liveness plus what is being served; 503 when the database or model is missing."""

    status: str = Field(description="ok | degraded")
    model_version: str | None
    baseline_version: str | None
    database: bool = Field(description="the database answered a query")
    pending_log_rows: int = Field(description="predictions waiting for the background writer")


class ReloadResponse(BaseModel):
    """The champion now being served."""

    model_version: str
    previous_version: str | None
    changed: bool


class FeatureDriftOut(BaseModel):
    """One statistical test of one feature in a monitoring run."""

    feature: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool


class RunSummary(BaseModel):
    """One monitoring run (one logical date)."""

    id: int
    run_key: str
    logical_date: dt.date
    status: str
    severity: str | None
    drift_detected: bool | None
    n_listed: int
    n_accepted: int
    n_quarantined: int
    baseline_version: str | None
    model_version: str | None
    report_uri: str | None = Field(description="the run's HTML summary page")
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RunDetail(RunSummary):
    """A run with its drift summary: the tests that ran and which drifted."""

    result_uri: str | None
    n_drifted: int
    drifted_features: list[str]
    features: list[FeatureDriftOut]
    details: dict[str, Any]
