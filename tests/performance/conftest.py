"""Fixtures of the performance tests (defined in perf_helpers)."""

from perf_helpers import model_folder, webhook_receiver

__all__ = ["model_folder", "webhook_receiver"]
