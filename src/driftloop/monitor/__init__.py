"""Monitoring: the steps of one run (one function per DAG task) and their chains.

Every step is keyed on the logical date: a rerun of the same date overwrites
the same outputs and updates the same rows (no duplicate rows or alerts).
"""

from __future__ import annotations

from driftloop.monitor.branch import DECISIONS, decide, finish_run, step_launch, step_schedule
from driftloop.monitor.chain import CHECK_KEYS, run_check, run_monitoring
from driftloop.monitor.performance import step_performance
from driftloop.monitor.retrain import launch_manual, refresh_baseline
from driftloop.monitor.steps import (
    resolve_source,
    step_alert,
    step_compare,
    step_extract,
    step_ingest,
    step_report,
)

__all__ = [
    "CHECK_KEYS",
    "DECISIONS",
    "decide",
    "finish_run",
    "launch_manual",
    "refresh_baseline",
    "resolve_source",
    "run_check",
    "run_monitoring",
    "step_alert",
    "step_compare",
    "step_extract",
    "step_ingest",
    "step_launch",
    "step_performance",
    "step_report",
    "step_schedule",
]
