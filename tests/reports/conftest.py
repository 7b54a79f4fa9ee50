"""Fixtures for the report tests (the builders live in report_helpers)."""

from __future__ import annotations

from report_helpers import current_df, quarantined, reference_df, result

__all__ = ["current_df", "quarantined", "reference_df", "result"]
