"""driftloop.performance."""
