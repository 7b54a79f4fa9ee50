"""Retraining cooldown, performance folded into the verdict, the retraining section."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from driftloop.config import Settings, load_settings
from driftloop.monitor import step_launch
from driftloop.monitor.performance import with_performance
from driftloop.monitor.runs import get_run, open_context, update_run
from driftloop.reports.sections import retraining_section_html
from driftloop.results import DriftResult
from driftloop.storage.db import Database
from driftloop.storage.models import PipelineRun

DAY = dt.date(2026, 11, 8)


def _previous_run(db: Database, day: dt.date, status: str = "succeeded") -> None:
    with db.session() as session:
        session.add(
            PipelineRun(
                external_id=f"run-{day}",
                status=status,
                run_key=day.isoformat(),
                trigger="drift",
                gate={"promote": False},
            )
        )


def _cooldown_settings(settings: Settings, days: int) -> Settings:
    return load_settings(
        environ={}, home=str(settings.home), monitor={"retrain_cooldown_days": days}
    )


def test_drift_retraining_within_the_cooldown_is_not_launched(
    settings: Settings, db: Database
) -> None:
    _previous_run(db, DAY - dt.timedelta(days=2))
    update_run(db, DAY, status="running")
    out = step_launch(_cooldown_settings(settings, 3), DAY, trigger="drift", db=db)
    assert out["status"] == "cooldown" and out["relaunched"] is False
    assert out["previous"]["external_id"] == "run-2026-11-06"
    assert get_run(db, DAY).details["retraining"]["status"] == "cooldown"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(PipelineRun)) == 1


def test_a_failed_retraining_does_not_start_a_cooldown(settings: Settings, db: Database) -> None:
    from driftloop.monitor.branch import _recent_retraining

    _previous_run(db, DAY - dt.timedelta(days=1), status="failed")
    with open_context(_cooldown_settings(settings, 3), db) as ctx:
        assert _recent_retraining(ctx, DAY, 3) is None


def test_cooldown_zero_is_off_and_only_looks_back(settings: Settings, db: Database) -> None:
    from driftloop.monitor.branch import _recent_retraining

    _previous_run(db, DAY - dt.timedelta(days=1))
    _previous_run(db, DAY + dt.timedelta(days=1))
    with open_context(settings, db) as ctx:
        assert _recent_retraining(ctx, DAY, 0) is None
        assert _recent_retraining(ctx, DAY, 1) is not None
        assert _recent_retraining(ctx, DAY - dt.timedelta(days=5), 3) is None


def _result(severity: str = "none") -> DriftResult:
    return DriftResult(
        drift_detected=False,
        severity=severity,
        severity_rule="r",  # type: ignore[arg-type]
        n_reference=100,
        n_current=60,
        logical_date=DAY.isoformat(),
    )


def _save_breach(settings: Settings) -> None:
    from driftloop.performance.result import Breach, PerformanceCheck
    from driftloop.storage.artifacts import ArtifactStore

    check = PerformanceCheck(
        logical_date=DAY.isoformat(),
        realised=None,
        estimated=None,
        checks=(
            Breach(
                kind="realised",
                metric="accuracy",
                rule="max_drop",
                value=0.61,
                limit=0.85,
                breached=True,
                reference=0.90,
            ),
        ),
    )
    store = ArtifactStore(settings.artifacts_uri)
    store.write_text(store.uri("runs", DAY.isoformat(), "performance.json"), check.to_json())


def test_a_realised_performance_breach_raises_the_severity(
    settings: Settings, db: Database
) -> None:
    _save_breach(settings)
    with open_context(settings, db) as ctx:
        raised = with_performance(settings, ctx, DAY, _result("low"))
    assert raised.severity == "high"
    assert any(f.group == "performance" and f.drifted for f in raised.features)


def test_with_retrain_on_performance_off_the_breach_is_shown_not_acted_on(
    settings: Settings, db: Database
) -> None:
    _save_breach(settings)
    quiet = load_settings(
        environ={}, home=str(settings.home), monitor={"retrain_on_performance": False}
    )
    with open_context(quiet, db) as ctx:
        kept = with_performance(quiet, ctx, DAY, _result("low"))
    assert kept.severity == "low"
    assert "performance" in kept.details


def test_without_a_performance_check_the_result_is_unchanged(
    settings: Settings, db: Database
) -> None:
    with open_context(settings, db) as ctx:
        result = _result()
        assert with_performance(settings, ctx, DAY, result) is result


def test_retraining_section_shows_the_gate_decision() -> None:
    html = retraining_section_html(
        {
            "status": "succeeded",
            "run_id": "local-1",
            "ui_url": "file:///tmp/run",
            "backend": "local",
            "gate": {
                "promote": False,
                "candidate_version": "m-2",
                "candidate_auc": 0.7012,
                "champion_version": "m-1",
                "champion_auc": 0.8811,
                "metric_min": 0.72,
                "metric_drop_tol": 0.03,
                "reasons": ["candidate AUC 0.7012 < minimum 0.7200"],
            },
        }
    )
    assert "NOT BLESSED" in html and "0.701" in html and "0.881" in html
    assert 'href="file:///tmp/run"' in html and "minimum 0.7200" in html


def test_retraining_section_escapes_what_it_shows() -> None:
    html = retraining_section_html({"status": "<b>x</b>", "run_id": "r"})
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html
