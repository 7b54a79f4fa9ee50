"""driftloop.model."""
