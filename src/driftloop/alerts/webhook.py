"""Generic JSON webhook, signed with HMAC-SHA256 so the receiver can trust it.

The signature covers the exact body bytes: ``X-Driftloop-Signature: sha256=<hex>``
where hex = HMAC-SHA256(secret, body). Receivers recompute it and compare with
``hmac.compare_digest``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import Any

import httpx

from driftloop.alerts._http import post
from driftloop.alerts.message import AlertMessage, DeliveryError
from driftloop.config import Settings

__all__ = ["SIGNATURE_HEADER", "build_payload", "send", "sign"]

SIGNATURE_HEADER = "X-Driftloop-Signature"


def sign(secret: str, body: bytes) -> str:
    """The header value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_payload(message: AlertMessage) -> dict[str, Any]:
    """The JSON event: every field of the message, under stable names."""
    data = dataclasses.asdict(message)
    data["top_features"] = [
        {"name": n, "effect_size": e, "test": t} for n, e, t in message.top_features
    ]
    return {"event": f"driftloop.drift.{message.kind}", **data}


def send(message: AlertMessage, settings: Settings, client: httpx.Client) -> dict[str, Any]:
    """POST the signed event; returns the payload (the secret is never in it)."""
    cfg = settings.alerts.webhook
    if not cfg.url:
        raise DeliveryError("webhook: alerts.webhook.url is not set", retryable=False)
    payload = build_payload(message)
    body = json.dumps(payload, sort_keys=True).encode()
    headers: dict[str, str] = {"X-Driftloop-Event": message.kind}
    if cfg.secret is not None:
        headers[SIGNATURE_HEADER] = sign(cfg.secret.get_secret_value(), body)
    post(client, cfg.url, content=body, headers=headers, what="webhook")
    return payload
