"""One exception tree, rooted at :class:`DriftloopError`.

Every error a user can cause says what was wrong (with the value) and what to
do about it, in one line. The CLI prints ``str(error)`` and exits with
``error.exit_code``; ``--debug`` adds the traceback.
"""

from __future__ import annotations

__all__ = [
    "AlertError",
    "BaselineError",
    "ConfigError",
    "DriftloopError",
    "FeatureError",
    "InputError",
    "ModelError",
    "PipelineError",
    "PromotionError",
    "StorageError",
]


class DriftloopError(Exception):
    """Root of every error driftloop raises on purpose."""

    exit_code: int = 1


class ConfigError(DriftloopError):
    """A setting is missing, malformed or out of range."""

    exit_code = 2


class StorageError(DriftloopError):
    """The database or the artifact store cannot be reached or is inconsistent."""


class InputError(DriftloopError):
    """A user-supplied path, URI, date or file is unusable."""


class FeatureError(DriftloopError):
    """Feature extraction failed for a reason that is not the input's fault."""


class BaselineError(DriftloopError):
    """A baseline profile is missing, unreadable or incompatible."""


class ModelError(DriftloopError):
    """A model cannot be trained, loaded, evaluated or used for prediction."""


class PromotionError(ModelError):
    """Promotion or rollback could not complete; the current model is unchanged."""


class AlertError(DriftloopError):
    """An alert channel is misconfigured (delivery failures are recorded, not raised)."""


class PipelineError(DriftloopError):
    """Compiling, uploading or running the Kubeflow pipeline failed."""
