"""Alerts reach real receivers; failures are recorded and never block the other channels."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest
from alert_helpers import HttpReceiver, SmtpReceiver, alert_settings, free_port, result_of
from sqlalchemy import select

from driftloop.alerts import dispatch, send_test
from driftloop.errors import AlertError
from driftloop.storage.db import Database, upgrade
from driftloop.storage.models import AlertRecord

T0 = dt.datetime(2026, 11, 8, 6, 0, tzinfo=dt.UTC)
SLACK_TOKEN = "T000/B000/XXXXSECRETXXXX"
PD_KEY = "R0UTINGKEYSECRET"


@pytest.fixture
def adb(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'alerts.db'}")
    upgrade(database)
    return database


def history(db: Database) -> list[AlertRecord]:
    with db.session() as s:
        rows = list(s.scalars(select(AlertRecord).order_by(AlertRecord.id)))
        s.expunge_all()
    return rows


def test_every_channel_delivers_drift_alert_with_content(
    tmp_path: Path, adb: Database, receiver: HttpReceiver, smtp: SmtpReceiver
) -> None:
    settings = alert_settings(
        tmp_path,
        slack={"webhook_url": f"{receiver.base}/ok/slack/{SLACK_TOKEN}"},
        webhook={"url": f"{receiver.base}/ok/hook", "secret": "s3cret"},
        pagerduty={"routing_key": PD_KEY, "events_url": f"{receiver.base}/ok/pd"},
        email={
            "host": "127.0.0.1",
            "port": smtp.port,
            "recipients": ["oncall@example.org"],
            "username": "bot",
            "password": "pw",
        },
    )
    out = dispatch(
        result_of("high"), settings, adb, run_key="r1", report_url="http://reports/x", now=T0
    )
    assert sorted((o.channel, o.outcome) for o in out) == [
        ("email", "sent"),
        ("pagerduty", "sent"),
        ("slack", "sent"),
        ("webhook", "sent"),
    ]

    slack = receiver.at(f"/ok/slack/{SLACK_TOKEN}")[0].json()
    kinds = [b["type"] for b in slack["blocks"]]
    assert kinds[0] == "header" and "actions" in kinds
    assert "HIGH" in slack["blocks"][0]["text"]["text"]
    text = str(slack["blocks"])
    assert "sharpness: effect size 3.60" in text and "*Severity*\\nhigh" in text
    assert slack["blocks"][kinds.index("actions")]["elements"][0]["url"] == "http://reports/x"

    hook = receiver.at("/ok/hook")[0]
    expected = hmac.new(b"s3cret", hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Driftloop-Signature"] == f"sha256={expected}"
    assert hook.json()["event"] == "driftloop.drift.trigger"

    pd = receiver.at("/ok/pd")[0].json()
    assert pd["event_action"] == "trigger" and pd["routing_key"] == PD_KEY
    assert pd["dedup_key"].startswith("driftloop-pagerduty-")
    assert pd["payload"]["severity"] == "critical"
    assert pd["links"][0]["href"] == "http://reports/x"

    mail = smtp.messages[0]
    assert mail["Subject"].startswith("[driftloop] HIGH drift on 2026-11-08")
    assert smtp.auth == ["bot"]
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "sharpness: effect size 3.60" in plain and "<li>sharpness" in html

    rows = history(adb)
    assert {r.outcome for r in rows} == {"sent"} and len(rows) == 4
    stored = str([r.payload for r in rows])
    assert PD_KEY not in stored and SLACK_TOKEN not in stored and "s3cret" not in stored


def test_failing_receivers_are_recorded_and_email_still_delivered(
    tmp_path: Path, adb: Database, receiver: HttpReceiver, smtp: SmtpReceiver
) -> None:
    settings = alert_settings(
        tmp_path,
        slack={"webhook_url": f"{receiver.base}/fail/{SLACK_TOKEN}"},
        webhook={"url": f"{receiver.base}/slow/hook"},
        pagerduty={"routing_key": PD_KEY, "events_url": f"http://127.0.0.1:{free_port()}/down"},
        email={"host": "127.0.0.1", "port": smtp.port, "recipients": ["a@example.org"]},
    )
    out = {o.channel: o for o in dispatch(result_of("high"), settings, adb, run_key="r1", now=T0)}

    assert out["email"].outcome == "sent" and len(smtp.messages) == 1
    assert out["slack"].outcome == "failed" and "HTTP 500" in (out["slack"].error or "")
    assert out["webhook"].outcome == "failed" and "timed out" in (out["webhook"].error or "")
    assert out["pagerduty"].outcome == "failed" and "Connect" in (out["pagerduty"].error or "")
    assert {o.attempts for c, o in out.items() if c != "email"} == {2}  # 1 + retries
    assert len(receiver.at(f"/fail/{SLACK_TOKEN}")) == 2
    recorded = {r.channel: r for r in history(adb)}
    assert recorded["slack"].outcome == "failed" and recorded["slack"].attempts == 2
    assert SLACK_TOKEN not in str([(r.error, r.payload) for r in recorded.values()])


def test_client_error_is_not_retried(tmp_path: Path, adb: Database, receiver: HttpReceiver) -> None:
    settings = alert_settings(tmp_path, retries=3, webhook={"url": f"{receiver.base}/bad"})
    (out,) = dispatch(result_of("high"), settings, adb, run_key="r1", now=T0)
    assert out.outcome == "failed" and out.attempts == 1 and "HTTP 400" in (out.error or "")


def test_drift_then_same_drift_is_deduplicated_then_clearing_resolves(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(
        tmp_path,
        webhook={"url": f"{receiver.base}/ok/hook"},
        pagerduty={"routing_key": PD_KEY, "events_url": f"{receiver.base}/ok/pd"},
    )
    hour = dt.timedelta(hours=1)
    first = dispatch(result_of("high"), settings, adb, run_key="d1", now=T0)
    again = dispatch(result_of("high"), settings, adb, run_key="d2", now=T0 + 2 * hour)
    cleared = dispatch(result_of("none"), settings, adb, run_key="d3", now=T0 + 4 * hour)
    quiet = dispatch(result_of("none"), settings, adb, run_key="d4", now=T0 + 5 * hour)

    assert [o.outcome for o in first] == ["sent", "sent"]
    assert [o.outcome for o in again] == ["deduplicated", "deduplicated"]
    assert [(o.kind, o.outcome) for o in cleared] == [("resolve", "sent"), ("resolve", "sent")]
    assert [o.outcome for o in quiet] == ["skipped", "skipped"]
    pd = [r.json() for r in receiver.at("/ok/pd")]
    assert [p["event_action"] for p in pd] == ["trigger", "resolve"]
    assert pd[0]["dedup_key"] == pd[1]["dedup_key"]
    assert receiver.at("/ok/hook")[1].json()["kind"] == "resolve"
    outcomes = [(r.run_key, r.channel, r.kind, r.outcome) for r in history(adb)]
    assert ("d2", "pagerduty", "trigger", "deduplicated") in outcomes
    assert ("d3", "pagerduty", "resolve", "sent") in outcomes


def test_same_condition_alerts_again_after_the_dedupe_window(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(tmp_path, dedupe_hours=6, webhook={"url": f"{receiver.base}/ok"})
    dispatch(result_of("high"), settings, adb, run_key="a", now=T0)
    (late,) = dispatch(
        result_of("high"), settings, adb, run_key="b", now=T0 + dt.timedelta(hours=7)
    )
    assert late.outcome == "sent" and len(receiver.requests) == 2


def test_changed_condition_is_not_deduplicated(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(tmp_path, webhook={"url": f"{receiver.base}/ok"})
    dispatch(result_of("medium", ("mean",)), settings, adb, run_key="a", now=T0)
    (worse,) = dispatch(result_of("high"), settings, adb, run_key="b", now=T0)
    assert worse.outcome == "sent"


def test_rate_limit_caps_triggers_per_channel_per_hour(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(
        tmp_path, dedupe_hours=0, rate_limit_per_hour=2, webhook={"url": f"{receiver.base}/ok"}
    )
    minute = dt.timedelta(minutes=10)
    got = [
        dispatch(result_of("high"), settings, adb, run_key=f"r{i}", now=T0 + i * minute)[0].outcome
        for i in range(3)
    ]
    (later,) = dispatch(result_of("high"), settings, adb, run_key="r9", now=T0 + 8 * minute)
    assert got == ["sent", "sent", "rate_limited"]
    assert later.outcome == "sent"  # the first two are now more than an hour old
    assert len(receiver.requests) == 3


def test_routing_sends_only_to_channels_whose_min_severity_is_reached(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(
        tmp_path,
        slack={"webhook_url": f"{receiver.base}/ok/slack", "min_severity": "low"},
        pagerduty={
            "routing_key": PD_KEY,
            "events_url": f"{receiver.base}/ok/pd",
            "min_severity": "high",
        },
    )
    out = {
        o.channel: o.outcome
        for o in dispatch(result_of("medium"), settings, adb, run_key="m", now=T0)
    }
    assert out == {"slack": "sent", "pagerduty": "skipped"}
    assert receiver.at("/ok/pd") == []


def test_insufficient_data_sends_nothing_and_keeps_the_alert_open(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(tmp_path, webhook={"url": f"{receiver.base}/ok"})
    dispatch(result_of("high"), settings, adb, run_key="a", now=T0)
    (thin,) = dispatch(result_of("insufficient_data"), settings, adb, run_key="b", now=T0)
    (clear,) = dispatch(result_of("none"), settings, adb, run_key="c", now=T0)
    assert thin.outcome == "skipped" and "insufficient data" in (thin.error or "")
    assert (clear.kind, clear.outcome) == ("resolve", "sent")


def test_failed_trigger_is_retried_on_the_next_run_not_deduplicated(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    down = alert_settings(tmp_path, webhook={"url": f"{receiver.base}/fail"})
    up = alert_settings(tmp_path, webhook={"url": f"{receiver.base}/ok"})
    (first,) = dispatch(result_of("high"), down, adb, run_key="a", now=T0)
    (second,) = dispatch(result_of("high"), up, adb, run_key="b", now=T0)
    assert (first.outcome, second.outcome) == ("failed", "sent")


def test_no_configured_channel_means_no_alerts(tmp_path: Path, adb: Database) -> None:
    assert dispatch(result_of("high"), alert_settings(tmp_path), adb, run_key="x", now=T0) == []
    assert history(adb) == []


def test_send_test_reaches_the_channel_and_is_recorded_as_test(
    tmp_path: Path, adb: Database, receiver: HttpReceiver
) -> None:
    settings = alert_settings(tmp_path, webhook={"url": f"{receiver.base}/ok", "secret": "k"})
    outcome = send_test("webhook", settings, adb)
    assert outcome.outcome == "sent"
    assert receiver.requests[0].json()["kind"] == "test"
    assert history(adb)[0].kind == "test"


def test_send_test_names_unknown_and_unconfigured_channels(tmp_path: Path, adb: Database) -> None:
    settings = alert_settings(tmp_path)
    with pytest.raises(AlertError, match="unknown alert channel 'teams'"):
        send_test("teams", settings, adb)
    with pytest.raises(AlertError, match="'slack' is not configured"):
        send_test("slack", settings, adb)
