"""The served model and the micro-batcher that runs it.

:class:`ModelHolder` keeps one reference to the loaded champion; ``/reload``
loads the new one off to the side and swaps the reference in one assignment,
so a request that already took the old model finishes on it and none fail.
:class:`MicroBatcher` runs inference on one thread: requests that arrive while
a batch runs are predicted together in the next one (no added wait when idle),
which is what keeps throughput up on two cores.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from driftloop.errors import ModelError

if TYPE_CHECKING:
    from driftloop.model import LoadedModel
    from driftloop.model.registry import Registry

__all__ = ["MicroBatcher", "ModelHolder", "Prediction"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """One image's outputs, with the model that made them."""

    model: LoadedModel
    probabilities: NDArray[np.float32]

    @property
    def predicted_class(self) -> str:
        return self.model.classes[int(self.probabilities.argmax())]

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    def by_class(self) -> dict[str, float]:
        return {c: float(p) for c, p in zip(self.model.classes, self.probabilities, strict=True)}


class ModelHolder:
    """The model being served; swapped atomically by :meth:`reload`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._model: LoadedModel | None = None
        self._reload_lock = threading.Lock()

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    @property
    def version(self) -> str | None:
        model = self._model
        return None if model is None else model.version

    def reload(self) -> tuple[str, str | None]:
        """Load the champion named by models/CURRENT; returns (new, previous) versions."""
        from driftloop.model import load_model

        with self._reload_lock:
            uri = self.registry.current_uri()
            if uri is None:
                raise ModelError(
                    "no champion model to serve: models/CURRENT is missing; train, register "
                    "and promote one ('driftloop model train', 'driftloop model promote')"
                )
            previous = self.version
            fresh = load_model(uri)
            # Compile the graph before it takes traffic so the first request is not slow.
            fresh.predict_arrays([np.zeros((fresh.image_size, fresh.image_size), np.uint8)])
            self._model = fresh  # one reference assignment: in-flight requests keep the old one
            log.info("serving model %s (previous %s) from %s", fresh.version, previous, uri)
            return fresh.version, previous


_Item = tuple["LoadedModel", NDArray[Any], "concurrent.futures.Future[Prediction]"]


class MicroBatcher:
    """Batch concurrent predictions on one inference thread."""

    def __init__(self, max_batch: int = 16) -> None:
        self.max_batch = max_batch
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.images = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="driftloop-infer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Finish the queued predictions, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    async def predict(self, model: LoadedModel, array: NDArray[Any]) -> Prediction:
        """Predict one image with ``model`` (batched with its neighbours)."""
        future: concurrent.futures.Future[Prediction] = concurrent.futures.Future()
        self._queue.put((model, array, future))
        return await asyncio.wrap_future(future)

    def predict_sync(self, model: LoadedModel, array: NDArray[Any]) -> Prediction:
        """The blocking form of :meth:`predict`, for worker threads."""
        future: concurrent.futures.Future[Prediction] = concurrent.futures.Future()
        self._queue.put((model, array, future))
        return future.result()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            stop = False
            while len(items) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                items.append(item)
            self._predict(items)
            if stop:
                return

    def _predict(self, items: list[_Item]) -> None:
        # A reload can land mid-queue: each request is predicted by the model it started with.
        groups: dict[int, list[_Item]] = {}
        for item in items:
            groups.setdefault(id(item[0]), []).append(item)
        for group in groups.values():
            model = group[0][0]
            try:
                out = model.predict_arrays([a for _, a, _ in group])
            except Exception as exc:  # hand the failure to every waiting request
                for _, _, future in group:
                    future.set_exception(exc)
                continue
            for (_, _, future), probs in zip(group, out.probabilities, strict=True):
                future.set_result(Prediction(model, probs))
            self.batches += 1
            self.images += len(group)
