"""Fixtures for the alert tests: real HTTP and SMTP receivers on 127.0.0.1."""

from __future__ import annotations

from alert_helpers import receiver, smtp

__all__ = ["receiver", "smtp"]
