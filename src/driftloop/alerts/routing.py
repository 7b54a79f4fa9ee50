"""Routing, dedupe, rate limits, retries and the alert history.

For each configured channel, one run yields at most one trigger (when the
result's severity reaches the channel's ``min_severity``) or resolves (when an
earlier alerted condition has cleared). Every decision is a row in
``alert_history``. Delivery failures are retried with backoff, recorded, and
never raised: a broken Slack must not stop the e-mail or fail the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from driftloop.alerts import email, pagerduty, slack, webhook
from driftloop.alerts.message import AlertMessage, DeliveryError, build_message, condition_key
from driftloop.config import Settings
from driftloop.errors import AlertError
from driftloop.results import SEVERITY_ORDER, DriftResult
from driftloop.storage.db import Database
from driftloop.storage.models import AlertRecord

__all__ = ["CHANNELS", "AlertOutcome", "configured_channels", "dispatch", "send_test"]

log = logging.getLogger(__name__)

Sender = Callable[[AlertMessage, Settings, httpx.Client], dict[str, Any]]
CHANNELS: dict[str, Sender] = {
    "slack": slack.send,
    "email": email.send,
    "webhook": webhook.send,
    "pagerduty": pagerduty.send,
}
HISTORY_SCAN = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What happened on one channel for one run (mirrors an ``alert_history`` row)."""

    channel: str
    kind: str
    severity: str
    dedup_key: str
    outcome: str  # sent|failed|deduplicated|rate_limited|skipped
    attempts: int = 0
    error: str | None = None


def configured_channels(settings: Settings) -> list[str]:
    """Channels with enough settings to send (others are ignored entirely)."""
    a = settings.alerts
    ready = {
        "slack": a.slack.webhook_url is not None,
        "email": bool(a.email.host and a.email.recipients),
        "webhook": bool(a.webhook.url),
        "pagerduty": a.pagerduty.routing_key is not None,
    }
    return [name for name, ok in ready.items() if ok]


def _min_severity(settings: Settings, channel: str) -> str:
    section = getattr(settings.alerts, channel)
    return str(section.min_severity)


def _secrets(settings: Settings) -> list[str]:
    a = settings.alerts
    values = [a.slack.webhook_url, a.email.password, a.webhook.secret, a.pagerduty.routing_key]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _deliver(
    sender: Sender, message: AlertMessage, settings: Settings, client: httpx.Client
) -> tuple[int, dict[str, Any], str | None]:
    """Try up to 1 + retries times with exponential backoff; never raises."""
    attempts, last_error = 0, None
    for attempt in range(settings.alerts.retries + 1):
        attempts += 1
        try:
            return attempts, sender(message, settings, client), None
        except DeliveryError as exc:
            last_error = str(exc)
            if not exc.retryable:
                break
        except Exception as exc:  # a bug in a channel must not break the others
            last_error = f"{type(exc).__name__}: {exc}"
        if attempt < settings.alerts.retries:
            time.sleep(settings.alerts.backoff_seconds * (2**attempt))
    return attempts, {}, last_error


class _History:
    """The channel's past records, read once per dispatch."""

    def __init__(self, db: Database, channel: str) -> None:
        with db.session() as session:
            rows = session.scalars(
                select(AlertRecord)
                .where(AlertRecord.channel == channel, AlertRecord.outcome == "sent")
                .order_by(AlertRecord.created_at.desc(), AlertRecord.id.desc())
                .limit(HISTORY_SCAN)
            ).all()
            session.expunge_all()
        self.sent = list(reversed(rows))  # oldest first

    def open_conditions(self) -> dict[str, AlertRecord]:
        """dedup_key -> last sent trigger, for conditions not resolved since."""
        state: dict[str, AlertRecord] = {}
        for row in self.sent:
            if row.kind == "trigger":
                state[row.dedup_key] = row
            elif row.kind == "resolve":
                state.pop(row.dedup_key, None)
        return state

    def triggers_since(self, since: dt.datetime) -> int:
        return sum(1 for r in self.sent if r.kind == "trigger" and _aware(r.created_at) >= since)


def _record(
    db: Database, run_key: str, outcome: AlertOutcome, payload: dict[str, Any], now: dt.datetime
) -> None:
    with db.session() as session:
        session.add(
            AlertRecord(
                run_key=run_key,
                channel=outcome.channel,
                kind=outcome.kind,
                severity=outcome.severity,
                dedup_key=outcome.dedup_key,
                outcome=outcome.outcome,
                attempts=outcome.attempts,
                error=outcome.error,
                payload=payload,
                created_at=now,
            )
        )
    level = logging.WARNING if outcome.outcome == "failed" else logging.INFO
    log.log(
        level,
        "alert %s %s on %s: %s after %d attempt(s)%s",
        outcome.kind,
        outcome.severity,
        outcome.channel,
        outcome.outcome,
        outcome.attempts,
        f" ({outcome.error})" if outcome.error else "",
    )


def _send_and_record(
    db: Database,
    channel: str,
    message: AlertMessage,
    settings: Settings,
    client: httpx.Client,
    now: dt.datetime,
) -> AlertOutcome:
    secrets = _secrets(settings)
    attempts, payload, error = _deliver(CHANNELS[channel], message, settings, client)
    outcome = AlertOutcome(
        channel=channel,
        kind=message.kind,
        severity=message.severity,
        dedup_key=message.dedup_key,
        outcome="failed" if error else "sent",
        attempts=attempts,
        error=_redact(error, secrets) if error else None,
    )
    stored = payload or {"title": message.title, "summary": message.summary}
    _record(db, message.run_key, outcome, stored, now)
    return outcome


def _channel(
    channel: str,
    result: DriftResult,
    settings: Settings,
    db: Database,
    client: httpx.Client,
    *,
    run_key: str,
    report_url: str | None,
    now: dt.datetime,
) -> list[AlertOutcome]:
    history = _History(db, channel)
    key = condition_key(channel, result)
    active = (
        result.severity not in ("none", "insufficient_data")
        and result.severity_rank >= SEVERITY_ORDER[_min_severity(settings, channel)]
    )
    outcomes: list[AlertOutcome] = []

    def note(outcome: str, reason: str, dedup_key: str = key) -> None:
        skipped = AlertOutcome(channel, "trigger", result.severity, dedup_key, outcome, 0, reason)
        _record(db, run_key, skipped, {}, now)
        outcomes.append(skipped)

    if result.severity == "insufficient_data":
        # Too few images to tell whether drift cleared: open conditions stay open.
        note("skipped", f"insufficient data ({result.n_current} images): nothing sent")
        return outcomes
    if not active:
        for open_key in history.open_conditions():
            message = build_message(
                result, kind="resolve", run_key=run_key, dedup_key=open_key, report_url=report_url
            )
            outcomes.append(_send_and_record(db, channel, message, settings, client, now))
        if not outcomes:
            note("skipped", f"severity {result.severity} below {_min_severity(settings, channel)}")
        return outcomes
    previous = history.open_conditions().get(key)
    window = dt.timedelta(hours=settings.alerts.dedupe_hours)
    if previous is not None and now - _aware(previous.created_at) < window:
        note(
            "deduplicated",
            f"same condition alerted at {_aware(previous.created_at):%Y-%m-%d %H:%M} UTC",
        )
        return outcomes
    if history.triggers_since(now - dt.timedelta(hours=1)) >= settings.alerts.rate_limit_per_hour:
        note("rate_limited", f"{settings.alerts.rate_limit_per_hour} alerts in the last hour")
        return outcomes
    message = build_message(
        result, kind="trigger", run_key=run_key, dedup_key=key, report_url=report_url
    )
    outcomes.append(_send_and_record(db, channel, message, settings, client, now))
    return outcomes


def dispatch(
    result: DriftResult,
    settings: Settings,
    db: Database,
    *,
    run_key: str,
    report_url: str | None = None,
    now: dt.datetime | None = None,
    client: httpx.Client | None = None,
) -> list[AlertOutcome]:
    """Alert every configured channel about ``result``; never raises on delivery failure.

    ``client`` lets tests swap the HTTP transport (httpx style); by default one
    client with ``alerts.timeout_seconds`` serves every HTTP channel.
    """
    moment = now or dt.datetime.now(dt.UTC)
    channels = configured_channels(settings)
    own = client is None
    http = client or httpx.Client(timeout=settings.alerts.timeout_seconds)
    outcomes: list[AlertOutcome] = []
    try:
        for channel in channels:
            outcomes += _channel(
                channel,
                result,
                settings,
                db,
                http,
                run_key=run_key,
                report_url=report_url,
                now=moment,
            )
    finally:
        if own:
            http.close()
    sent = sum(1 for o in outcomes if o.outcome == "sent")
    log.info(
        "alerts for %s (%s): %d channel(s), %d sent, %d not sent",
        run_key,
        result.severity,
        len(channels),
        sent,
        len(outcomes) - sent,
    )
    return outcomes


def send_test(
    channel: str,
    settings: Settings,
    db: Database,
    *,
    client: httpx.Client | None = None,
) -> AlertOutcome:
    """Send a test message on one channel, bypassing routing and dedupe; recorded as kind=test."""
    if channel not in CHANNELS:
        raise AlertError(f"unknown alert channel '{channel}'; choose one of {sorted(CHANNELS)}")
    if channel not in configured_channels(settings):
        raise AlertError(
            f"alert channel '{channel}' is not configured; set its alerts.{channel}.* settings "
            "(see docs/reports.md)"
        )
    now = dt.datetime.now(dt.UTC)
    probe = DriftResult(
        drift_detected=False,
        severity="low",
        severity_rule="test message",
        n_reference=0,
        n_current=0,
        logical_date=now.date().isoformat(),
    )
    message = build_message(
        probe, kind="test", run_key="test", dedup_key=f"driftloop-{channel}-test"
    )
    own = client is None
    http = client or httpx.Client(timeout=settings.alerts.timeout_seconds)
    try:
        return _send_and_record(db, channel, message, settings, http, now)
    finally:
        if own:
            http.close()
