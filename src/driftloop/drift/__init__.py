"""The drift engine: baseline profiles, two-sample tests, correction and severity.

Public API (see docs/internals.md, "Drift"): :func:`build_baseline`,
:func:`save_baseline`, :func:`load_baseline`, :func:`merge_baselines`,
:func:`compare` and the :class:`Baseline` profile.
"""

from driftloop.drift.baseline import Baseline, build_baseline, merge_baselines
from driftloop.drift.compare import compare
from driftloop.drift.persist import load_baseline, save_baseline

__all__ = [
    "Baseline",
    "build_baseline",
    "compare",
    "load_baseline",
    "merge_baselines",
    "save_baseline",
]
