"""CUT's projection head F (the reference's PatchSampleF, `netF mlp_sample`): for each encoder
layer, the features of the sampled patch positions through a two-layer MLP, then L2-normalised.

The patch positions are drawn by the caller (CUT.sample_patches), so F itself is a plain
functional model: one input of shape (patches, C_l) per layer. The reference creates its MLPs on
the first batch because its channel counts are only known then; here the generator's taps give
them when the model is built, so F is built at once (same layers, same init).
"""

from __future__ import annotations

import keras
import tensorflow as tf

F_KINDS = ("mlp_sample", "sample")


@keras.saving.register_keras_serializable(package="translate")
class L2Normalize(keras.layers.Layer):
    """x / (||x||_2 + 1e-7) along the last axis, as the reference's Normalize (not tf's
    l2_normalize, which divides by max(||x||, eps))."""

    def call(self, x):
        return x / (tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True)) + 1e-7)


def patch_sample_mlp(
    channels: list[int],
    units: int = 256,
    use_mlp: bool = True,
    init: keras.initializers.Initializer | None = None,
    name: str = "F",
) -> keras.Model:
    """F for encoder features with `channels` channels per layer: Dense(units), ReLU,
    Dense(units), L2 norm (use_mlp), or the L2 norm alone (`netF sample`)."""
    inputs, outputs = [], []
    for i, c in enumerate(channels):
        x = keras.Input((c,), name=f"layer{i}")
        inputs.append(x)
        y = x
        if use_mlp:
            y = keras.layers.Dense(units, kernel_initializer=init, name=f"mlp_{i}_0")(y)
            y = keras.layers.ReLU()(y)
            y = keras.layers.Dense(units, kernel_initializer=init, name=f"mlp_{i}_2")(y)
        outputs.append(L2Normalize(name=f"l2norm_{i}")(y))
    return keras.Model(inputs, outputs, name=name)
