"""Feature tests reuse the ingest image makers (tests/ingest/ingest_images.py)."""

import sys
from pathlib import Path

# Test folders are not packages; make the sibling helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ingest"))

from ingest_images import dirty_dir  # noqa: F401
