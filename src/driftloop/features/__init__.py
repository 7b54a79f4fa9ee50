"""driftloop.features."""
