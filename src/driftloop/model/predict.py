"""Load a trained model and predict: probabilities, embeddings and Grad-CAM saliency.

A model folder holds ``model.keras``, ``classes.json`` (the class names in
output order), ``metrics.json``, ``fingerprint.txt`` and, once registered,
``version.txt``. :func:`load_model` builds one two-output model (softmax and
the ``embedding`` layer) so a single forward pass gives both.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftloop.errors import ModelError
from driftloop.model.arch import EMBEDDING_LAYER, OUTPUT_LAYER
from driftloop.model.data import resize_grey, to_grey

__all__ = ["LoadedModel", "Predictions", "load_model", "predict_dir"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Predictions:
    """Model outputs for ``n`` images."""

    probabilities: NDArray[np.float32]  # (n, C)
    embeddings: NDArray[np.float32]  # (n, D)
    pred_class: list[str]
    confidence: NDArray[np.float32]  # (n,)

    def __len__(self) -> int:
        return len(self.pred_class)


def _empty(n_classes: int, dim: int) -> Predictions:
    return Predictions(
        np.zeros((0, n_classes), np.float32),
        np.zeros((0, dim), np.float32),
        [],
        np.zeros(0, np.float32),
    )


class LoadedModel:
    """A trained classifier ready for batched prediction and saliency maps."""

    def __init__(self, keras_model: Any, classes: Sequence[str], version: str, uri: str) -> None:
        import keras
        import tensorflow as tf

        self.keras_model = keras_model
        self.classes = list(classes)
        self.version = version
        self.uri = uri
        self.image_size = int(keras_model.get_layer("resize").get_config()["height"])
        emb = keras_model.get_layer(EMBEDDING_LAYER).output
        self._two = keras.Model(keras_model.inputs, [keras_model.outputs[0], emb])
        self.embedding_dim = int(emb.shape[-1])
        shape = (None, self.image_size, self.image_size, 1)
        # One trace for every batch size: Keras' predict() re-plans per call, this does not.
        self._forward = tf.function(
            lambda x: self._two(x, training=False),
            input_signature=[tf.TensorSpec(shape, tf.float32)],
        )
        # Decoded files stay uint8 up to here: a quarter of the bytes to hand over.
        self._forward_u8 = tf.function(
            lambda x: self._two(tf.cast(x, tf.float32), training=False),
            input_signature=[tf.TensorSpec(shape, tf.uint8)],
        )
        self._cam_model: Any = None

    def _batch(self, arrays: Sequence[NDArray[Any]]) -> NDArray[np.float32]:
        size = self.image_size
        out = np.empty((len(arrays), size, size, 1), dtype=np.float32)
        for i, arr in enumerate(arrays):
            out[i, ..., 0] = resize_grey(to_grey(arr), size)
        return out

    def predict_batch(self, batch: NDArray[Any]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Probabilities and embeddings for one prepared batch ``(n, S, S, 1)`` of raw pixels.

        ``batch`` is uint8 (as decoded) or float32 (0–255; the model rescales).
        """
        forward = self._forward_u8 if batch.dtype == np.uint8 else self._forward
        probs, emb = forward(batch)
        return np.asarray(probs, dtype=np.float32), np.asarray(emb, dtype=np.float32)

    def _wrap(self, probs: NDArray[np.float32], emb: NDArray[np.float32]) -> Predictions:
        idx = probs.argmax(axis=1)
        return Predictions(
            probabilities=probs,
            embeddings=emb,
            pred_class=[self.classes[i] for i in idx],
            confidence=probs.max(axis=1).astype(np.float32),
        )

    def predict_arrays(self, arrays: Sequence[NDArray[Any]], batch_size: int = 64) -> Predictions:
        """Predict images given as arrays (grey or RGB, uint8, any size)."""
        if len(arrays) == 0:
            return _empty(len(self.classes), self.embedding_dim)
        probs, embs = [], []
        for start in range(0, len(arrays), batch_size):
            p, e = self.predict_batch(self._batch(arrays[start : start + batch_size]))
            probs.append(p)
            embs.append(e)
        return self._wrap(np.concatenate(probs), np.concatenate(embs))

    def predict_paths(self, paths: Sequence[str | Path], batch_size: int = 64) -> Predictions:
        """Predict image files (decoded straight to the model's working size)."""
        from driftloop.model.data import decode_image

        arrays = [decode_image(p, self.image_size) for p in paths]
        return self.predict_arrays(arrays, batch_size=batch_size)

    def _cam_layer(self) -> Any:
        # The last layer with a spatial (4-D) output before pooling: the conv map Grad-CAM weights.
        for layer in reversed(self.keras_model.layers):
            shape = getattr(layer, "output", None)
            if shape is not None and len(layer.output.shape) == 4 and "resize" not in layer.name:
                return layer
        raise ModelError(f"model {self.version} has no convolutional layer for Grad-CAM")

    def saliency(self, arrays: Sequence[NDArray[Any]], batch_size: int = 32) -> NDArray[np.float32]:
        """Grad-CAM of the predicted class, upsampled to each input's own size, in [0, 1].

        Returns an array of shape (n, H, W) when all inputs share one size, else
        an object array of per-image 2-D maps.
        """
        import keras
        import tensorflow as tf

        if self._cam_model is None:
            conv = self._cam_layer().output
            emb = self.keras_model.get_layer(EMBEDDING_LAYER).output
            self._cam_model = keras.Model(self.keras_model.inputs, [conv, emb])
        head = self.keras_model.get_layer(OUTPUT_LAYER)
        maps: list[NDArray[np.float32]] = []
        for start in range(0, len(arrays), batch_size):
            chunk = arrays[start : start + batch_size]
            x = tf.constant(self._batch(chunk))
            with tf.GradientTape() as tape:
                conv, emb = self._cam_model(x, training=False)
                # Pre-softmax logits: a saturated softmax has ~zero gradient and a blank map.
                logits = tf.matmul(emb, head.kernel) + head.bias
                pred = tf.argmax(logits, axis=1)
                score = tf.gather(logits, pred, axis=1, batch_dims=1)
            grads = tape.gradient(score, conv)
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cams = tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1)).numpy()
            for cam, arr in zip(cams, chunk, strict=True):
                maps.append(_upsample(cam, np.asarray(arr).shape[:2]))
        if not maps:
            return np.zeros((0, 0, 0), np.float32)
        if len({m.shape for m in maps}) == 1:
            return np.stack(maps)
        out = np.empty(len(maps), dtype=object)
        out[:] = maps
        return out


def _upsample(cam: NDArray[np.float32], shape: tuple[int, ...]) -> NDArray[np.float32]:
    from PIL import Image

    peak = float(cam.max())
    norm = cam / peak if peak > 0 else np.zeros_like(cam)
    img = Image.fromarray(norm.astype(np.float32), mode="F")
    up = np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), dtype=np.float32)
    return np.clip(up, 0.0, 1.0)


def _model_folder(uri: str) -> str:
    """Accept a model folder, its model.keras, or a CURRENT pointer file."""
    from driftloop.storage.artifacts import ArtifactStore, is_local

    if uri.endswith("model.keras"):
        return uri.rsplit("/", 1)[0] if "/" in uri else "."
    if is_local(uri) and Path(uri).is_file():
        try:
            pointer = json.loads(Path(uri).read_text(encoding="utf-8"))
            return str(pointer["uri"])
        except (ValueError, KeyError, TypeError):
            raise ModelError(
                f"'{uri}' is neither a model folder nor a models/CURRENT pointer"
            ) from None
    if not is_local(uri) and not ArtifactStore(uri).exists(uri + "/model.keras"):
        raise ModelError(
            f"no model.keras under '{uri}'; pass a folder written by 'driftloop model train'"
        )
    return uri


def load_model(uri: str | Path) -> LoadedModel:
    """Load the model folder at ``uri`` (local path or fsspec URI)."""
    import keras

    from driftloop.storage.artifacts import ArtifactStore

    folder = _model_folder(str(uri))
    store = ArtifactStore(folder)
    try:
        with store.local_copy(folder) as local:
            path = Path(local)
            classes = json.loads((path / "classes.json").read_text(encoding="utf-8"))
            keras_model = keras.models.load_model(path / "model.keras", compile=False)
            version_file = path / "version.txt"
            version = (
                version_file.read_text(encoding="utf-8").strip()
                if version_file.exists()
                else path.name
            )
    except ModelError:
        raise
    except Exception as exc:  # a corrupt or partial folder is the user's to fix, with the reason
        raise ModelError(
            f"cannot load model from '{folder}': {type(exc).__name__}: {exc}; "
            "pass a folder written by 'driftloop model train'"
        ) from None
    if not isinstance(classes, list) or len(classes) != keras_model.outputs[0].shape[-1]:
        raise ModelError(f"classes.json in '{folder}' does not match the model's outputs")
    log.info("loaded model %s (%d classes) from %s", version, len(classes), folder)
    return LoadedModel(keras_model, classes, version, folder)


def _decode_chunk(paths: Sequence[Path], size: int) -> tuple[NDArray[np.uint8], list[int]]:
    """Decode ``paths`` into a uint8 batch; returns it and the indices that decoded."""
    from driftloop.errors import InputError
    from driftloop.model.data import decode_image

    batch = np.empty((len(paths), size, size, 1), dtype=np.uint8)
    ok: list[int] = []
    for i, path in enumerate(paths):
        try:
            batch[len(ok), ..., 0] = decode_image(path, size)
            ok.append(i)
        except InputError as exc:
            log.warning("skipped %s", exc)
    return batch[: len(ok)], ok


def _lower_priority() -> None:
    """Let a decoder thread run only on CPU that TensorFlow leaves idle (Linux).

    TensorFlow splits each layer over every core and waits for the slowest part,
    so a decoder competing at equal priority delays the whole batch by its own
    length. Under ``SCHED_IDLE`` it fills the gaps between TensorFlow's bursts
    instead (and still runs at full speed when the model waits for it). On Linux
    a thread's scheduling policy is its own; elsewhere this does nothing.
    """
    import contextlib
    import os
    import threading

    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))


def predict_dir(
    model_uri: str | Path | LoadedModel,
    images_dir: str | Path,
    out_path: str | Path,
    *,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, Any]:
    """Predict every image under ``images_dir`` and write one parquet row per image.

    Columns: ``uri, pred_class, confidence, prob_<class>..., embedding`` (list<float32>).
    ``model_uri`` may also be an already loaded model (serving, benchmarks).
    Files that cannot be decoded are skipped and counted. Decoding runs a few
    batches ahead of inference, on idle-priority threads (TensorFlow and the JPEG
    decoder both release the GIL).
    """
    import os
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    from driftloop.model.data import list_images
    from driftloop.storage.artifacts import ArtifactStore

    model = model_uri if isinstance(model_uri, LoadedModel) else load_model(model_uri)
    # Resolve the folder once: its files are then absolute already (resolving each
    # file walks every path component, a measurable cost per image).
    paths = list_images(Path(images_dir).resolve())
    chunks = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]
    uris: list[str] = []
    probs: list[NDArray[np.float32]] = []
    embs: list[NDArray[np.float32]] = []
    bar = tqdm(total=len(paths), unit="img", desc="predict", disable=not progress)
    # Decoder threads, one per core, at idle priority (see _lower_priority), keep a
    # few batches ready: while TensorFlow computes they take only the CPU it leaves
    # idle, and when the model waits for them they run on every core.
    workers = max(1, os.cpu_count() or 1)
    depth = workers + 1
    with ThreadPoolExecutor(max_workers=workers, initializer=_lower_priority) as pool:
        ahead = deque(pool.submit(_decode_chunk, c, model.image_size) for c in chunks[:depth])
        for n, chunk in enumerate(chunks):
            batch, ok = ahead.popleft().result()
            if n + depth < len(chunks):
                ahead.append(pool.submit(_decode_chunk, chunks[n + depth], model.image_size))
            if ok:
                p, e = model.predict_batch(batch)
                probs.append(p)
                embs.append(e)
                uris.extend(str(chunk[i]) for i in ok)
            bar.update(len(chunk))
    bar.close()
    result = (
        model._wrap(np.concatenate(probs), np.concatenate(embs))
        if probs
        else _empty(len(model.classes), model.embedding_dim)
    )
    columns: dict[str, Any] = {
        "uri": pa.array(uris, pa.string()),
        "pred_class": pa.array(result.pred_class, pa.string()),
        "confidence": pa.array(result.confidence, pa.float32()),
    }
    for i, name in enumerate(model.classes):
        columns[f"prob_{name}"] = pa.array(result.probabilities[:, i], pa.float32())
    dim = model.embedding_dim
    flat = pa.array(result.embeddings.reshape(-1), pa.float32())
    columns["embedding"] = pa.FixedSizeListArray.from_arrays(flat, dim).cast(pa.list_(pa.float32()))
    table = pa.table(columns)
    out = str(out_path)
    store = ArtifactStore(out.rsplit("/", 1)[0] if "://" in out else Path(out).resolve().parent)
    with store.open_write(out if "://" in out else str(Path(out).resolve())) as tmp:
        pq.write_table(table, tmp)
    n_failed = len(paths) - len(uris)
    log.info(
        "predicted %d images with %s (%d undecodable, skipped) -> %s",
        len(uris),
        model.version,
        n_failed,
        out,
    )
    return {"n_images": len(uris), "n_failed": n_failed, "out": out, "model_version": model.version}
