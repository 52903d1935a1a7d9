"""Small building blocks the reference networks need and Keras does not name directly."""

from __future__ import annotations

import keras
import tensorflow as tf

NORMS = ("instance", "batch", "sync_batch", "none")


def float_dtype() -> str:
    """What outputs and losses are computed in: float32, also under mixed precision; float64 when
    the whole model is (keras.config.set_floatx("float64"), as the equivalence tests run it to
    compare with the reference beyond float32's rounding)."""
    return "float64" if keras.config.floatx() == "float64" else "float32"


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
        if x.dtype == tf.float64:  # the fused kernel has no float64: the same maths, unfused
            mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
            return (x - mean) * tf.math.rsqrt(variance + self.epsilon)
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


@keras.saving.register_keras_serializable(package="translate")
class LeakyReLU(keras.layers.LeakyReLU):
    """keras.layers.LeakyReLU; in float64 computed as max(x, slope * x), because TF's op keeps the
    slope in a float32 attribute (0.2 becomes 0.200000003), an error seen only beyond float32."""

    def call(self, inputs):
        if inputs.dtype == tf.float64 and 0 <= self.negative_slope <= 1:
            return tf.maximum(inputs, inputs * self.negative_slope)
        return super().call(inputs)


@keras.saving.register_keras_serializable(package="translate")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras batch norm with PyTorch's BatchNorm2d bookkeeping: a training step normalises with
    the biased batch variance (as both do) but moves the running variance towards the *unbiased*
    one, n / (n - 1) times larger. Keras moves it towards the biased one, so a model trained here
    would otherwise infer with different statistics than the reference (the U-Net's 2x2 levels
    at batch 1: n = 4, a third off).
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None or self.renorm:
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, float_dtype())
        mean, variance = self._moments(x, None)
        count = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
        context = tf.distribute.get_replica_context()
        if self.synchronized and context is not None:
            count *= context.num_replicas_in_sync
        unbiased = variance * count / tf.maximum(count - 1.0, 1.0)
        keep = self.momentum
        moving_mean, moving_variance = self.moving_mean, self.moving_variance
        moving_mean.assign(moving_mean * keep + tf.cast(mean, moving_mean.dtype) * (1.0 - keep))
        moving_variance.assign(
            moving_variance * keep + tf.cast(unbiased, moving_variance.dtype) * (1.0 - keep)
        )
        outputs = tf.nn.batch_normalization(
            x, mean, variance, offset=tf.cast(self.beta, x.dtype) if self.center else None,
            scale=tf.cast(self.gamma, x.dtype) if self.scale else None,
            variance_epsilon=self.epsilon,
        )
        return tf.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="translate")
class BlurDownsample(keras.layers.Layer):
    """Anti-aliased stride-2 downsampling (Zhang, "Making convolutional networks shift-invariant
    again", 2019), as the CUT reference downsamples: reflection pad 1, then the binomial filter
    [1, 2, 1] x [1, 2, 1] / 16 on each channel alone, stride 2. No weights."""

    def call(self, x):
        taps = tf.constant([1.0, 2.0, 1.0], dtype=x.dtype) / 4.0
        channels = x.shape[-1]
        kernel = tf.tile(tf.reshape(taps[:, None] * taps[None, :], [3, 3, 1, 1]), [1, 1, channels, 1])
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
        return tf.nn.depthwise_conv2d(x, kernel, strides=[1, 2, 2, 1], padding="VALID")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else (h + 1) // 2, None if w is None else (w + 1) // 2, c)


@keras.saving.register_keras_serializable(package="translate")
class BlurUpsample(keras.layers.Layer):
    """Anti-aliased x2 upsampling, as the CUT reference upsamples (a fixed [1, 3, 3, 1] transposed
    filter on replicate-padded input): each new pixel is 3/4 of its source pixel and 1/4 of the
    next one on each axis, the edge pixel repeated, which is bilinear resizing with half-pixel
    centres. Written out (not tf.image.resize) to match the reference to the last bit."""

    def call(self, x):
        return self._double(self._double(x, 1), 2)

    @staticmethod
    def _double(x, axis):
        first = tf.gather(x, [0], axis=axis)
        last = tf.gather(x, [tf.shape(x)[axis] - 1], axis=axis)
        size = tf.shape(x)[axis]
        before = tf.concat([first, tf.gather(x, tf.range(size - 1), axis=axis)], axis)
        after = tf.concat([tf.gather(x, tf.range(1, size), axis=axis), last], axis)
        even, odd = 0.25 * before + 0.75 * x, 0.75 * x + 0.25 * after
        # Known sides stay constants in the shape (TFLite's converter needs the channel count).
        dims = [d if d is not None else tf.shape(x)[i] for i, d in enumerate(x.shape)]
        dims[axis] = 2 * size
        return tf.reshape(tf.stack([even, odd], axis=axis + 1), tf.stack(dims))

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)


def normalization(kind: str, name: str | None = None) -> keras.layers.Layer | None:
    """The norm layer for `kind` ("instance", "batch", "sync_batch", "none"); None: no layer.

    "sync_batch" is batch norm whose statistics are reduced over all replicas of a strategy
    (`runtime.sync_batch_norm`); on one device it equals "batch". Batch norm follows PyTorch's
    BatchNorm2d: momentum 0.1 there is 0.9 here, eps 1e-5, affine, unbiased running variance,
    gamma initialised from N(1, 0.02) as the reference's init_weights does.
    """
    if kind == "instance":
        return InstanceNormalization(name=name)
    if kind in ("batch", "sync_batch"):
        return BatchNormalization(
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
    """Convolutions before a batch norm need no bias (the super-resolution networks' rule)."""
    return norm not in ("batch", "sync_batch")


def reference_uses_bias(norm: str) -> bool:
    """The reference networks' rule: a bias only before instance norm. Its test of the norm type
    also drops the bias for norm 'none' (a conv then has neither norm nor bias); we follow it, so
    its checkpoints convert both ways tensor for tensor."""
    return norm == "instance"
