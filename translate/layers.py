"""Small building blocks the reference networks need and Keras does not name directly."""

from __future__ import annotations

import keras
import tensorflow as tf

NORMS = ("instance", "batch", "sync_batch", "none")


@keras.saving.register_keras_serializable(package="translate")
class ReflectionPadding2D(keras.layers.Layer):
    """Reflection padding of H and W (PyTorch's ReflectionPad2d): no border artefacts in G."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        p = 2 * self.padding
        return (n, None if h is None else h + p, None if w is None else w + p, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def InstanceNormalization(name: str | None = None) -> keras.layers.Layer:  # noqa: N802
    """Instance norm as the reference uses it: per-sample, per-channel, no affine, eps 1e-5."""
    return keras.layers.GroupNormalization(
        groups=-1, center=False, scale=False, epsilon=1e-5, name=name
    )


def normalization(kind: str, name: str | None = None) -> keras.layers.Layer | None:
    """The norm layer for `kind` ("instance", "batch", "sync_batch", "none"); None: no layer.

    "sync_batch" is batch norm whose statistics are reduced over all replicas of a strategy
    (`runtime.sync_batch_norm`); on one device it equals "batch". Batch norm follows PyTorch's
    BatchNorm2d: momentum 0.1 there is 0.9 here, eps 1e-5, affine,
    gamma initialised from N(1, 0.02) as the reference's init_weights does.
    """
    if kind == "instance":
        return InstanceNormalization(name=name)
    if kind in ("batch", "sync_batch"):
        return keras.layers.BatchNormalization(
            synchronized=kind == "sync_batch",
            momentum=0.9,
            epsilon=1e-5,
            gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
            name=name,
        )
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def uses_bias(norm: str) -> bool:
    """Convolutions before a batch norm need no bias (the reference's rule).

    The reference also drops the bias when norm is 'none' (a side effect of how it tests the norm
    type); we keep it there, because a conv with neither norm nor bias cannot shift its output.
    """
    return norm not in ("batch", "sync_batch")
