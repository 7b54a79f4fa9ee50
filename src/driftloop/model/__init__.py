"""driftloop.model: the Keras tumour classifier's lifecycle.

Train, evaluate and predict, the fail-closed promotion gate, and the registry
with atomic promotion and rollback. Names load on first use, so importing the
package (as ``driftloop --help`` does) costs nothing; TensorFlow is imported
only inside the calls that need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftloop.model.evaluation import compute_metrics, evaluate
    from driftloop.model.gate import decide_gate, gate_models
    from driftloop.model.predict import LoadedModel, Predictions, load_model, predict_dir
    from driftloop.model.registry import Registry, forced_decision
    from driftloop.model.training import TrainResult, train

_WHERE = {
    "LoadedModel": "predict",
    "Predictions": "predict",
    "Registry": "registry",
    "TrainResult": "training",
    "compute_metrics": "evaluation",
    "decide_gate": "gate",
    "evaluate": "evaluation",
    "forced_decision": "registry",
    "gate_models": "gate",
    "load_model": "predict",
    "predict_dir": "predict",
    "train": "training",
}

__all__ = [
    "LoadedModel",
    "Predictions",
    "Registry",
    "TrainResult",
    "compute_metrics",
    "decide_gate",
    "evaluate",
    "forced_decision",
    "gate_models",
    "load_model",
    "predict_dir",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'driftloop.model' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"driftloop.model.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
