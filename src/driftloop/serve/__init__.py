"""driftloop.serve."""
