"""driftloop.reports: per-run pages (summary, Evidently, drift.json) and the index of all runs.

Names are loaded on first use so ``driftloop --help`` (which imports
``driftloop.reports.cli``) does not pay for pandas and SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftloop.reports.index import prune, rebuild_index
    from driftloop.reports.run_report import ReportPaths, render_run_report

__all__ = ["ReportPaths", "prune", "rebuild_index", "render_run_report"]

_HOME = {
    "ReportPaths": "driftloop.reports.run_report",
    "render_run_report": "driftloop.reports.run_report",
    "prune": "driftloop.reports.index",
    "rebuild_index": "driftloop.reports.index",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'driftloop.reports' has no attribute {name!r}")
