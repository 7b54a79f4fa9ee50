"""Slack incoming webhook: a Block Kit message with severity, top features and a link."""

from __future__ import annotations

import json
from typing import Any

import httpx

from driftloop.alerts._http import post
from driftloop.alerts.message import AlertMessage, DeliveryError, feature_lines
from driftloop.config import Settings

__all__ = ["build_payload", "send"]

EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":large_yellow_circle:"}


def build_payload(message: AlertMessage) -> dict[str, Any]:
    """The Block Kit JSON for ``message`` (``text`` is the notification fallback)."""
    if message.kind == "resolve":
        icon = ":white_check_mark:"
    else:
        icon = EMOJI.get(message.severity, ":information_source:")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {message.summary}"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Severity*\n{message.severity}"},
                {"type": "mrkdwn", "text": f"*Date*\n{message.logical_date or '—'}"},
                {"type": "mrkdwn", "text": f"*Images*\n{message.n_current}"},
                {"type": "mrkdwn", "text": f"*Quarantined*\n{message.n_quarantined}"},
                {"type": "mrkdwn", "text": f"*Model*\n{message.model_version or '—'}"},
                {"type": "mrkdwn", "text": f"*Baseline*\n{message.baseline_version or '—'}"},
            ],
        },
    ]
    lines = feature_lines(message)
    if lines and message.kind == "trigger":
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Top drifted features*\n" + "\n".join(f"• {x}" for x in lines),
                },
            }
        )
    if message.report_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open report"},
                        "url": message.report_url,
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"run `{message.run_key}` · driftloop"}],
        }
    )
    return {"text": f"{message.title}: {message.summary}", "blocks": blocks}


def send(message: AlertMessage, settings: Settings, client: httpx.Client) -> dict[str, Any]:
    """Post to the Slack webhook; returns the payload (no secret in it)."""
    url = settings.alerts.slack.webhook_url
    if url is None:
        raise DeliveryError("slack: alerts.slack.webhook_url is not set", retryable=False)
    payload = build_payload(message)
    post(client, url.get_secret_value(), content=json.dumps(payload).encode(), what="slack")
    return payload
