"""driftloop.alerts: Slack, e-mail, signed webhook and PagerDuty, deduplicated and recorded.

Names are loaded on first use so ``driftloop --help`` (which imports
``driftloop.alerts.cli``) does not pay for httpx and SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftloop.alerts.routing import AlertOutcome, configured_channels, dispatch, send_test

__all__ = ["AlertOutcome", "configured_channels", "dispatch", "send_test"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("driftloop.alerts.routing"), name)
    raise AttributeError(f"module 'driftloop.alerts' has no attribute {name!r}")
