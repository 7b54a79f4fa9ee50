"""PagerDuty Events API v2: trigger on drift, resolve with the same ``dedup_key``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from driftloop.alerts._http import post
from driftloop.alerts.message import AlertMessage, DeliveryError, feature_lines
from driftloop.config import Settings

__all__ = ["build_payload", "send"]

# driftloop severity -> PagerDuty event severity.
PD_SEVERITY = {"high": "critical", "medium": "error", "low": "warning"}


def build_payload(message: AlertMessage, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body; a resolve carries only what PagerDuty needs."""
    action = "resolve" if message.kind == "resolve" else "trigger"
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": message.dedup_key,
    }
    if action == "resolve":
        return body
    body["payload"] = {
        "summary": message.title[:1024],
        "source": "driftloop",
        "severity": PD_SEVERITY.get(message.severity, "info"),
        "component": "image-drift-monitor",
        "custom_details": {
            "run_key": message.run_key,
            "logical_date": message.logical_date,
            "drifted_features": feature_lines(message),
            "n_current": message.n_current,
            "n_quarantined": message.n_quarantined,
            "model_version": message.model_version,
            "baseline_version": message.baseline_version,
            "severity_rule": message.severity_rule,
        },
    }
    if message.report_url:
        body["links"] = [{"href": message.report_url, "text": "driftloop report"}]
    return body


def send(message: AlertMessage, settings: Settings, client: httpx.Client) -> dict[str, Any]:
    """Send the event; returns the payload with the routing key redacted."""
    cfg = settings.alerts.pagerduty
    if cfg.routing_key is None:
        raise DeliveryError("pagerduty: alerts.pagerduty.routing_key is not set", retryable=False)
    payload = build_payload(message, cfg.routing_key.get_secret_value())
    post(client, cfg.events_url, content=json.dumps(payload).encode(), what="pagerduty")
    return {**payload, "routing_key": "***"}
