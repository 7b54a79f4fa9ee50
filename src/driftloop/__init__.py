"""driftloop: watch production image models for drift, report, alert, retrain.

The public API is what ``__all__`` lists; everything else is internal.
"""

from driftloop.config import Settings, load_settings
from driftloop.constants import VERSION as __version__  # noqa: N811
from driftloop.errors import DriftloopError
from driftloop.results import DriftResult, FeatureDrift, GateDecision

__all__ = [
    "DriftResult",
    "DriftloopError",
    "FeatureDrift",
    "GateDecision",
    "Settings",
    "__version__",
    "load_settings",
]
