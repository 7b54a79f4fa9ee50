"""driftloop.ingest: list a source, validate, quarantine bad files, write the manifest."""

from driftloop.ingest.core import IngestSummary, ingest, parse_date
from driftloop.ingest.manifest import read_manifest
from driftloop.ingest.validate import REASON_CODES, Verdict, validate_bytes

__all__ = [
    "REASON_CODES",
    "IngestSummary",
    "Verdict",
    "ingest",
    "parse_date",
    "read_manifest",
    "validate_bytes",
]
