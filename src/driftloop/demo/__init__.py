"""driftloop.demo."""
