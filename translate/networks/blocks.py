"""Convolutions padded exactly as PyTorch pads them, so shapes and alignment match the reference."""

from __future__ import annotations

import keras
import tensorflow as tf

from translate.layers import ReflectionPadding2D, normalization


class ConvFactory:
    """Makes the conv layers of one network with a shared initialiser (bias always starts at 0)."""

    def __init__(self, init: keras.initializers.Initializer):
        self.init = init

    def conv(self, x, filters, kernel, stride=1, pad=0, bias=True, reflect=False, name=None):
        """Conv2d(kernel, stride, padding=pad) as in PyTorch: explicit zero or reflection padding."""
        if pad:
            x = (ReflectionPadding2D(pad) if reflect else keras.layers.ZeroPadding2D(pad))(x)
        return keras.layers.Conv2D(
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


# The U-Net's innermost levels are a few pixels wide with 512-1024 channels. oneDNN's conv kernels
# run at 3-35 GFLOP/s there (memory-bound on the 4-33 MB kernels, read and reordered several times),
# so up to these many input pixels (batch x height x width) the same conv runs as one matmul over
# im2col patches (down) or one matmul then col2im (up), which reads each kernel once per pass.
# Crossovers measured on a CPU at batch 1 and 4 (BENCHMARKS.md); same maths either way.
GEMM_MAX_PIXELS_DOWN = 16
GEMM_MAX_PIXELS_UP = 128


def _gemm_sized(x, max_pixels: int, even: bool = False) -> bool:
    """Static shape with at most `max_pixels` input pixels (and even sides if `even`)."""
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    if n is None or h is None or w is None or (even and (h % 2 or w % 2)):
        return False
    return n * h * w <= max_pixels


def down4_as_matmul(x, kernel):
    """Conv2d(k4, s2, p1) of an even-sized x as im2col + one matmul; kernel [4, 4, C, F]."""
    _, h, w, c = x.shape
    ho, wo = h // 2, w // 2
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    taps = [xp[:, i : i + 2 * ho : 2, j : j + 2 * wo : 2, :] for i in range(4) for j in range(4)]
    patches = tf.reshape(tf.concat(taps, axis=-1), [-1, 16 * c])
    y = tf.matmul(patches, tf.reshape(kernel, [16 * c, kernel.shape[3]]))
    return tf.reshape(y, [-1, ho, wo, kernel.shape[3]])


def up4_as_matmul(x, kernel):
    """ConvTranspose2d(k4, s2, p1) as one matmul + col2im; kernel [4, 4, F, C] (Keras layout).

    Input pixel (i, j) times kernel tap (ky, kx) lands on row 2i + ky - 1, column 2j + kx - 1 of
    the output; with ky = 2q + r that is row 2(i + q) + r of the uncropped output.
    """
    _, h, w, c = x.shape
    f = kernel.shape[2]
    cols = tf.matmul(tf.reshape(x, [-1, c]), tf.reshape(kernel, [16 * f, c]), transpose_b=True)
    cols = tf.reshape(cols, [-1, h, w, 2, 2, 2, 2, f])  # n, i, j, q, r, q', s, f
    z = None
    for q in (0, 1):
        for q2 in (0, 1):
            part = tf.pad(
                cols[:, :, :, q, :, q2, :, :],
                [[0, 0], [q, 1 - q], [q2, 1 - q2], [0, 0], [0, 0], [0, 0]],
            )
            z = part if z is None else z + part
    z = tf.transpose(z, [0, 1, 3, 2, 4, 5])  # n, i + q, r, j + q', s, f
    full = tf.reshape(z, [-1, 2 * h + 2, 2 * w + 2, f])
    return full[:, 1 : 2 * h + 1, 1 : 2 * w + 1, :]


@keras.saving.register_keras_serializable(package="translate")
class Down4(keras.layers.Conv2D):
    """PyTorch's Conv2d(k4, s2, p1); a matmul at the U-Net's innermost levels (see above)."""

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
        out_shape = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], self.filters])
        kernel = tf.cast(self.kernel, inputs.dtype)
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
