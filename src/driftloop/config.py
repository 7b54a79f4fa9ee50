"""Settings: one typed object, loaded once and passed in.

Sources, later ones winning: built-in defaults, a YAML file (``--config PATH``,
else ``$DRIFTLOOP_CONFIG``, else ``./driftloop.yaml`` when present), then
``DRIFTLOOP_*`` environment variables. Nested keys use a double underscore:
``DRIFTLOOP_DRIFT__CORRECTION=bh`` sets ``drift.correction``. No other module
reads the environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from driftloop.constants import STEPS_IMAGE
from driftloop.errors import ConfigError

__all__ = ["Settings", "load_settings", "redacted_dict"]

Severity = Literal["none", "low", "medium", "high"]
ENV_PREFIX = "DRIFTLOOP_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class IngestSettings(_Section):
    min_side: int = Field(32, ge=1, description="smallest accepted width/height in pixels")
    max_pixels: int = Field(
        40_000_000, ge=1, description="decompression-bomb guard: most pixels per image"
    )
    max_file_bytes: int = Field(100 * 1024 * 1024, ge=1, description="largest accepted file")
    formats: list[str] = Field(
        default_factory=lambda: ["JPEG", "PNG", "TIFF", "BMP", "DICOM"],
        description="accepted image formats",
    )
    shard_size: int = Field(512, ge=1, description="images per manifest shard (one mapped task)")


class FeatureSettings(_Section):
    working_size: int = Field(128, ge=16, description="side of the working image for features")
    workers: int = Field(0, ge=0, description="worker processes; 0 = one per core")
    batch_size: int = Field(64, ge=1, description="images per model batch")


class FeatureTest(_Section):
    test: Literal["auto", "ks", "wasserstein", "psi", "jensenshannon", "chisquare"] = "auto"
    threshold: float | None = None


class DriftSettings(_Section):
    correction: Literal["bonferroni", "bh", "none"] = "bonferroni"
    alpha: float = Field(0.05, gt=0, lt=1, description="family-wise (or FDR) error rate")
    small_sample_max: int = Field(
        1000, ge=1, description="at or below: KS p-value; above: normed Wasserstein (Evidently)"
    )
    wasserstein_threshold: float = Field(0.1, gt=0)
    psi_threshold: float = Field(0.2, gt=0)
    jensenshannon_threshold: float = Field(0.1, gt=0)
    min_images: int = Field(30, ge=1, description="fewer current images -> insufficient_data")
    features: list[str] = Field(default_factory=list, description="features to test; [] = all")
    per_feature: dict[str, FeatureTest] = Field(default_factory=dict)
    embedding_permutations: int = Field(200, ge=10)
    reservoir_size: int = Field(5000, ge=100)


class ReportSettings(_Section):
    retention_days: int = Field(30, ge=1)
    top_features: int = Field(8, ge=1, description="features with histograms on a run's page")
    trend_features: list[str] = Field(
        default_factory=lambda: [
            "mean",
            "rms_contrast",
            "sharpness",
            "noise",
            "entropy",
            "confidence",
        ],
        description="features whose effect size the index plots over time",
    )
    airflow_base_url: str = ""


class SlackSettings(_Section):
    webhook_url: SecretStr | None = None
    min_severity: Severity = "low"


class EmailSettings(_Section):
    host: str = ""
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str = ""
    password: SecretStr | None = None
    sender: str = "driftloop@localhost"
    recipients: list[str] = Field(default_factory=list)
    min_severity: Severity = "medium"


class WebhookSettings(_Section):
    url: str = ""
    secret: SecretStr | None = None
    min_severity: Severity = "low"


class PagerDutySettings(_Section):
    routing_key: SecretStr | None = None
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    min_severity: Severity = "high"


class AlertSettings(_Section):
    dedupe_hours: float = Field(24.0, ge=0)
    rate_limit_per_hour: int = Field(10, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    retries: int = Field(3, ge=0)
    backoff_seconds: float = Field(1.0, ge=0)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    pagerduty: PagerDutySettings = Field(default_factory=PagerDutySettings)


class ModelSettings(_Section):
    arch: Literal["small_cnn", "efficientnet_b0"] = "small_cnn"
    image_size: int = Field(128, ge=32)
    epochs: int = Field(8, ge=0)
    batch_size: int = Field(32, ge=1)
    seed: int = 1234
    metric_min: float = Field(0.72, ge=0, le=1, description="gate: minimum macro AUC")
    metric_drop_tol: float = Field(0.03, ge=0, le=1, description="gate: largest AUC drop allowed")


class KfpSettings(_Section):
    host: str = Field("", description="KFP API URL; empty = run under kfp.local")
    experiment: str = "driftloop"
    pipeline_name: str = "driftloop-retrain"
    namespace: str = "kubeflow"
    ui_url: str = Field("", description="KFP UI base URL for run links; empty = host")
    existing_token: SecretStr | None = None
    data_uri: str = Field("", description="training images for retraining: DIR/<class>/*.jpg")
    pipeline_root: str = Field("", description="KFP pipeline root (e.g. s3://bucket/pipelines)")
    timeout_seconds: float = Field(3600.0, gt=0, description="--wait gives up after this long")
    poll_seconds: float = Field(5.0, gt=0, description="--wait polls the run this often")
    stale_hours: float = Field(
        12.0, gt=0, description="an in-flight local run older than this no longer blocks a launch"
    )


class RunnerSettings(_Section):
    mode: Literal["local", "kubernetes"] = "local"
    namespace: str = "driftloop"
    service_account: str = "driftloop-steps"
    image: str = STEPS_IMAGE
    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"
    pvc_name: str = "driftloop-data"


class MonitorSettings(_Section):
    schedule: str = "@daily"
    source: str = Field("", description="production images URI; {date} is replaced")
    retrain_severity: Severity = "high"
    schedule_severity: Severity = "medium"
    retrain_on_performance: bool = Field(
        True, description="a performance breach raises severity (and so can retrain)"
    )
    retrain_cooldown_days: int = Field(
        0, ge=0, description="no drift-triggered retraining within N days after the last one"
    )
    reference_images: str = Field(
        "", description="reference images the baseline_refresh DAG rebuilds the baseline from"
    )


class ServingSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    api_token: SecretStr | None = None
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1, description="largest image accepted")
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed by CORS; [] = CORS off"
    )
    log_batch_rows: int = Field(256, ge=1, description="prediction-log rows written per batch")
    log_flush_ms: int = Field(200, ge=1, description="longest a logged prediction waits")
    max_batch: int = Field(16, ge=1, description="concurrent /predict requests batched together")


class PerformanceSettings(_Section):
    min_labels: int = Field(
        30, ge=1, description="fewer labels in a window -> insufficient_labels, no numbers"
    )
    max_drop: float = Field(
        0.05, ge=0, le=1, description="largest drop allowed below the model's reference metric"
    )
    minimums: dict[str, float] = Field(
        default_factory=lambda: {"accuracy": 0.7, "macro_f1": 0.65, "macro_auc": 0.8},
        description="lowest acceptable value per metric (accuracy, macro_f1, macro_auc, ...)",
    )
    labels_csv: str = Field(
        "", description="labels table (file,class) for labelled production folders; '' = none"
    )
    bootstrap_resamples: int = Field(
        500, ge=50, le=10_000, description="bootstrap resamples for F1/AUC intervals"
    )
    ci_level: float = Field(0.95, gt=0.5, lt=1, description="confidence level of intervals")
    seed: int = Field(0, description="seed of the bootstrap (fixed: reruns give equal numbers)")
    realised_severity: Severity = Field(
        "high", description="run severity raised to at least this on a realised breach"
    )
    estimated_severity: Severity = Field(
        "medium", description="run severity raised to at least this on an estimated-only breach"
    )


class Settings(_Section):
    """Every setting driftloop reads. Defaults run the demo with no configuration."""

    home: Path = Field(Path("var"), description="local working folder")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite in home")
    artifact_root: str = Field("", description="root URI for artifacts; empty = home")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    kfp: KfpSettings = Field(default_factory=KfpSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg2://USER:PASS@HOST/DB")
        return value

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'driftloop.db').resolve()}"

    @property
    def artifacts_uri(self) -> str:
        """The effective artifact root (a local path or an fsspec URI)."""
        return self.artifact_root or str(self.home.resolve())


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``DRIFTLOOP_A__B=v`` into ``{"a": {"b": v}}``; values may be JSON."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        try:
            value: Any = json.loads(raw) if raw[:1] in "[{" else raw
        except json.JSONDecodeError:
            value = raw
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file '{path}': {exc.strerror or exc}; "
            "fix the path given by --config or DRIFTLOOP_CONFIG"
        ) from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"config file '{path}' is not valid YAML at{where}: fix the syntax"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file '{path}' must hold a mapping of settings, not a {type(data).__name__}"
        )
    return data


def _describe(error: ValidationError, sources: dict[str, str]) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    source = sources.get(key.split(".")[0], "")
    value = first.get("input")
    shown = (
        "***"
        if any(s in key for s in ("password", "secret", "token", "key", "webhook_url"))
        else value
    )
    if first["type"] == "extra_forbidden":
        return f"unknown setting '{key}'{source}; see 'driftloop config show' for the valid keys"
    return f"invalid setting {key}={shown!r}{source}: {first['msg']}"


def load_settings(
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Load settings from defaults, the YAML file, the environment and ``overrides``."""
    env = os.environ if environ is None else environ
    sources: dict[str, str] = {}
    data: dict[str, Any] = {}
    path = config_path or env.get(ENV_PREFIX + "CONFIG")
    if path:
        data = _read_yaml(Path(path))
    elif Path("driftloop.yaml").is_file():
        path = "driftloop.yaml"
        data = _read_yaml(Path(path))
    for key in data:
        sources[key] = f" (from {path})"
    env_tree = _env_overrides(env)
    for name in env:
        if name.startswith(ENV_PREFIX) and name != ENV_PREFIX + "CONFIG":
            sources[name[len(ENV_PREFIX) :].lower().split("__")[0]] = f" (from {name})"
    data = _merge(_merge(data, env_tree), overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None


def redacted_dict(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with every secret replaced by ``***``."""
    raw = settings.model_dump(mode="json")

    def scrub(node: Any, model: BaseModel) -> Any:
        for name, value in list(node.items()):
            attr = getattr(model, name)
            if isinstance(attr, SecretStr):
                node[name] = "***"
            elif isinstance(attr, BaseModel):
                scrub(value, attr)
        return node

    scrubbed: dict[str, Any] = scrub(raw, settings)
    scrubbed["effective_database_url"] = _redact_url(settings.db_url)
    scrubbed["effective_artifact_root"] = settings.artifacts_uri
    scrubbed["database_url"] = _redact_url(settings.database_url)
    return scrubbed


def _redact_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
