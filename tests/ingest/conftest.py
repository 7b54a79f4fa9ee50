"""Fixtures for ingest tests (image makers live in ingest_images.py)."""

from ingest_images import dirty_dir  # noqa: F401
