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


@keras.saving.register_keras_serializable(package="translate")
class InstanceNormalization(keras.layers.Layer):
    """Instance norm as the reference uses it: per-sample, per-channel, no affine, eps 1e-5.

    The same maths as keras.layers.GroupNormalization(groups=-1, center=False, scale=False,
    epsilon=1e-5) (a test pins them equal), computed as one fused batch norm over the images laid
    side by side as channels, [N, H, W, C] -> [1, H, W, N*C]: TF's fused kernel does forward and
    backward in about half the time of GroupNormalization's separate ops (BENCHMARKS.md).
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, x):
        shape = tf.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        per_image = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c])
        ones, zeros = tf.ones([n * c], tf.float32), tf.zeros([n * c], tf.float32)
        normed, _, _ = tf.compat.v1.nn.fused_batch_norm(
            per_image, ones, zeros, epsilon=self.epsilon, is_training=True
        )
        return tf.transpose(tf.reshape(normed, [h, w, n, c]), [2, 0, 1, 3])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


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
