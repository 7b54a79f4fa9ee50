"""driftloop.alerts."""
