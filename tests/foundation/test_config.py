"""Settings: defaults, YAML, environment overrides, one-line errors, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftloop.config import load_settings, redacted_dict
from driftloop.errors import ConfigError


def test_defaults_need_no_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.db_url == f"sqlite:///{tmp_path / 'var' / 'driftloop.db'}"
    assert settings.artifacts_uri == str(tmp_path / "var")
    assert settings.model.metric_min == 0.72
    assert settings.model.metric_drop_tol == 0.03
    assert settings.reports.retention_days == 30


def test_yaml_file_then_environment_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "driftloop.yaml"
    cfg.write_text("drift:\n  correction: bh\n  alpha: 0.01\nmodel:\n  epochs: 3\n")
    env = {"DRIFTLOOP_DRIFT__ALPHA": "0.2", "DRIFTLOOP_CONFIG": str(cfg)}
    settings = load_settings(environ=env)
    assert settings.drift.correction == "bh"
    assert settings.drift.alpha == 0.2
    assert settings.model.epochs == 3


def test_environment_accepts_json_lists(tmp_path: Path) -> None:
    env = {"DRIFTLOOP_ALERTS__EMAIL__RECIPIENTS": '["a@x.org", "b@x.org"]'}
    settings = load_settings(environ=env, home=str(tmp_path))
    assert settings.alerts.email.recipients == ["a@x.org", "b@x.org"]


def test_invalid_value_names_key_value_and_allowed() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"DRIFTLOOP_DRIFT__CORRECTION": "holm"})
    message = str(err.value)
    assert "drift.correction='holm'" in message
    assert "bonferroni" in message and "bh" in message
    assert "DRIFTLOOP_DRIFT__CORRECTION" in message
    assert "\n" not in message


def test_out_of_range_value_is_rejected(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  metric_min: 1.5\n")
    with pytest.raises(ConfigError, match=r"model.metric_min=1.5 \(from .*c.yaml\)"):
        load_settings(cfg, environ={})


def test_unknown_key_is_rejected_with_a_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("drfit:\n  alpha: 0.1\n")
    with pytest.raises(ConfigError, match="unknown setting 'drfit'.*config show"):
        load_settings(cfg, environ={})


def test_unreadable_config_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file .*missing.yaml.*--config"):
        load_settings(tmp_path / "missing.yaml", environ={})


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("drift:\n  alpha: [0.1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(cfg, environ={})


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    cfg = tmp_path / "list.yaml"
    cfg.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_settings(cfg, environ={})


def test_bad_database_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="database_url='mysql://x'.*postgresql"):
        load_settings(environ={"DRIFTLOOP_DATABASE_URL": "mysql://x"})


def test_secrets_are_redacted() -> None:
    env = {
        "DRIFTLOOP_ALERTS__SLACK__WEBHOOK_URL": "https://hooks.example/T000/SECRET",
        "DRIFTLOOP_ALERTS__EMAIL__PASSWORD": "hunter2",
        "DRIFTLOOP_DATABASE_URL": "postgresql+psycopg2://app:pw123@db:5432/driftloop",
    }
    shown = str(redacted_dict(load_settings(environ=env)))
    assert "SECRET" not in shown and "hunter2" not in shown and "pw123" not in shown
    assert "postgresql+psycopg2://app:***@db:5432/driftloop" in shown
