"""Convolutions padded exactly as PyTorch pads them, so shapes and alignment match the reference."""

from __future__ import annotations

import keras
import tensorflow as tf

from translate.layers import ReflectionPadding2D, normalization
from translate.networks.cpu_kernels import (
    GEMM_MAX_PIXELS_DOWN,
    GEMM_MAX_PIXELS_UP,
    _gemm_sized,
    down4_as_matmul,
    portable_graph,
    stride1_conv2d,
    up4_as_matmul,
)


class ConvFactory:
    """Makes the conv layers of one network with a shared initialiser (bias always starts at 0)."""

    def __init__(self, init: keras.initializers.Initializer):
        self.init = init

    def conv(self, x, filters, kernel, stride=1, pad=0, bias=True, reflect=False, name=None):
        """Conv2d(kernel, stride, padding=pad) as in PyTorch: explicit zero or reflection padding."""
        if pad:
            x = (ReflectionPadding2D(pad) if reflect else keras.layers.ZeroPadding2D(pad))(x)
        layer = StrideOneConv2D if stride == 1 else keras.layers.Conv2D
        return layer(
            filters, kernel, strides=stride, padding="valid", use_bias=bias,
            kernel_initializer=self.init, name=name,
        )(x)

    def down4(self, x, filters, bias=True, name=None):
        """Conv2d(k4, s2, p1): 'same' padding is exactly (1, 1) here, so no explicit pad layer."""
        return Down4(filters, use_bias=bias, kernel_initializer=self.init, name=name)(x)

    def up4(self, x, filters, bias=True, name=None):
        """ConvTranspose2d(k4, s2, p1): Keras 'same' crops the same (1, 1) as PyTorch."""
        return Up4(filters, use_bias=bias, kernel_initializer=self.init, name=name)(x)

    def up3(self, x, filters, bias=True, name=None):
        """ConvTranspose2d(k3, s2, p1, output_padding=1), see UpConv3."""
        return UpConv3(filters, use_bias=bias, kernel_initializer=self.init, name=name)(x)


@keras.saving.register_keras_serializable(package="translate")
class StrideOneConv2D(keras.layers.Conv2D):
    """A stride-1 'valid' Conv2D whose kernel gradient is computed the fastest measured way."""

    def convolution_op(self, inputs, kernel):
        if self.strides != (1, 1) or self.padding != "valid" or self.dilation_rate != (1, 1):
            return super().convolution_op(inputs, kernel)
        return stride1_conv2d(inputs, tf.cast(kernel, inputs.dtype))


@keras.saving.register_keras_serializable(package="translate")
class Down4(keras.layers.Conv2D):
    """PyTorch's Conv2d(k4, s2, p1); a matmul at the U-Net's innermost levels (cpu_kernels)."""

    def __init__(self, filters, kernel_size=4, strides=2, padding="same", **kwargs):
        super().__init__(filters, 4, strides=2, padding="same", **kwargs)

    def convolution_op(self, inputs, kernel):
        if _gemm_sized(inputs, GEMM_MAX_PIXELS_DOWN, even=True):
            return down4_as_matmul(inputs, tf.cast(kernel, inputs.dtype))
        return super().convolution_op(inputs, kernel)


@keras.saving.register_keras_serializable(package="translate")
class Up4(keras.layers.Conv2DTranspose):
    """PyTorch's ConvTranspose2d(k4, s2, p1); a matmul at the U-Net's innermost levels."""

    def __init__(self, filters, kernel_size=4, strides=2, padding="same", **kwargs):
        super().__init__(filters, 4, strides=2, padding="same", **kwargs)

    def call(self, inputs):
        if not _gemm_sized(inputs, GEMM_MAX_PIXELS_UP):
            return super().call(inputs)
        outputs = up4_as_matmul(inputs, tf.cast(self.kernel, inputs.dtype))
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        return outputs


@keras.saving.register_keras_serializable(package="translate")
class UpConv3(keras.layers.Conv2DTranspose):
    """PyTorch's ConvTranspose2d(k3, s2, p1, output_padding=1): the full transposed conv with its
    first row and column cropped (Keras 'same' would crop at the end: a one-pixel shift).

    One tf.nn.conv2d_transpose with explicit padding does the crop inside the op; a 'valid'
    transposed conv then Cropping2D computes the same with an extra copy each way, which cost
    3-4% of a CycleGAN step on a CPU (BENCHMARKS.md).
    """

    def __init__(self, filters, kernel_size=3, strides=2, padding="valid", **kwargs):
        super().__init__(filters, 3, strides=2, padding="valid", **kwargs)

    def call(self, inputs):
        shape = tf.shape(inputs)
        kernel = tf.cast(self.kernel, inputs.dtype)
        if portable_graph():  # exporters mistranslate the explicit padding: crop instead
            full = tf.stack([shape[0], 2 * shape[1] + 1, 2 * shape[2] + 1, self.filters])
            outputs = tf.nn.conv2d_transpose(inputs, kernel, full, strides=2, padding="VALID")
            outputs = outputs[:, 1:, 1:, :]
        else:
            out_shape = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], self.filters])
            outputs = tf.nn.conv2d_transpose(
                inputs, kernel, out_shape, strides=2, padding=[[0, 0], [1, 0], [1, 0], [0, 0]]
            )
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        return outputs

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)


def norm(x, kind, name=None):
    """Apply the norm layer of `kind`, or nothing for 'none'."""
    layer = normalization(kind, name=name)
    return x if layer is None else layer(x)
