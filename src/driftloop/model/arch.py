"""Model architectures by name.

Every model takes grey images ``(batch, H, W, 1)`` of raw pixel values
(0..255, any H and W) and resizes and rescales them itself, so serving feeds
raw pixels. The penultimate dense layer is named ``embedding`` and the
softmax ``probabilities``, so both can be read from one forward pass.
"""

from __future__ import annotations

from typing import Any

from driftloop.errors import ModelError

__all__ = ["ARCHITECTURES", "EMBEDDING_LAYER", "OUTPUT_LAYER", "build_model"]

ARCHITECTURES = ("small_cnn", "efficientnet_b0")
EMBEDDING_LAYER = "embedding"
OUTPUT_LAYER = "probabilities"


def _preprocess(inputs: Any, image_size: int, scale: bool) -> Any:
    from keras import layers

    x = layers.Resizing(image_size, image_size, interpolation="bilinear", name="resize")(inputs)
    if scale:
        x = layers.Rescaling(1.0 / 255.0, name="rescale")(x)
    return x


def _small_cnn(inputs: Any, image_size: int) -> Any:
    from keras import layers

    x = _preprocess(inputs, image_size, scale=True)
    for i, filters in enumerate((16, 32, 64)):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        # A fast-moving average: short retraining runs have few steps, and slow
        # moving statistics would make the inference-mode model collapse.
        x = layers.BatchNormalization(momentum=0.8, name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv")(x)
    # Flatten, not global pooling: where a lesion sits (sella vs hemisphere vs
    # meninges) separates the classes, and global pooling would discard it.
    x = layers.MaxPooling2D(2, name="pool_last")(x)
    return layers.Flatten(name="flatten")(x)


def _efficientnet_b0(inputs: Any, image_size: int) -> Any:
    import keras
    from keras import layers

    # EfficientNet rescales 0..255 itself (include_preprocessing) and wants 3 channels.
    x = _preprocess(inputs, image_size, scale=False)
    rgb = layers.Concatenate(axis=-1, name="grey_to_rgb")([x, x, x])
    # input_tensor builds the backbone's layers into this graph (not as one nested
    # layer), so Grad-CAM can reach its last convolution ("top_activation").
    base = keras.applications.EfficientNetB0(
        include_top=False, weights=None, input_tensor=rgb, pooling="avg"
    )
    return base.output


def build_model(arch: str, *, image_size: int, n_classes: int, embedding_dim: int = 64) -> Any:
    """Build (not compile) the classifier ``arch`` for ``n_classes`` classes."""
    import keras
    from keras import layers

    builders = {"small_cnn": _small_cnn, "efficientnet_b0": _efficientnet_b0}
    if arch not in builders:
        raise ModelError(f"unknown architecture '{arch}'; choose one of {list(ARCHITECTURES)}")
    if image_size < 32:
        raise ModelError(f"image_size {image_size} is too small; use 32 or more")
    inputs = keras.Input(shape=(None, None, 1), dtype="float32", name="image")
    features = builders[arch](inputs, image_size)
    emb = layers.Dense(embedding_dim, activation="relu", name=EMBEDDING_LAYER)(features)
    x = layers.Dropout(0.2, name="dropout")(emb)
    out = layers.Dense(n_classes, activation="softmax", name=OUTPUT_LAYER)(x)
    return keras.Model(inputs, out, name=f"driftloop_{arch}")
