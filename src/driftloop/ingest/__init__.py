"""driftloop.ingest."""
