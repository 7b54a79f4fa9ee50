"""driftloop.reports."""
