"""driftloop.serve: the HTTP API that serves the champion and logs what it sees.

``create_app(settings)`` builds the FastAPI app; ``driftloop serve`` runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftloop.serve.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI loads on first use so 'driftloop --help' does not pay for it.
    if name == "create_app":
        from driftloop.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'driftloop.serve' has no attribute {name!r}")
