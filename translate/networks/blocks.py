"""Convolutions padded exactly as PyTorch pads them, so shapes and alignment match the reference."""

from __future__ import annotations

import contextlib

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


# The U-Net's innermost levels are a few pixels wide with 512-1024 channels. oneDNN's conv kernels
# run at 3-35 GFLOP/s there (memory-bound on the 4-33 MB kernels, read and reordered several times),
# so up to these many input pixels (batch x height x width) the same conv runs as one matmul over
# im2col patches (down) or one matmul then col2im (up), which reads each kernel once per pass.
# Crossovers measured on a CPU at batch 1 and 4 (BENCHMARKS.md); same maths either way.
GEMM_MAX_PIXELS_DOWN = 16
GEMM_MAX_PIXELS_UP = 128


_framework_convs = False


@contextlib.contextmanager
def framework_convs():
    """Trace every conv as the framework's own ops (for FLOP counts and before/after timings)."""
    global _framework_convs
    saved, _framework_convs = _framework_convs, True
    try:
        yield
    finally:
        _framework_convs = saved


def rewrites_apply() -> bool:
    """Whether the conv rewrites here are traced: only on a CPU, where they were measured against
    oneDNN (a GPU keeps cuDNN's, a TPU XLA's), and framework_convs() turns them off."""
    if _framework_convs:
        return False
    accelerators = ("GPU", "TPU")  # a TPU (or GPU) compiles convolutions its own way
    return not any(tf.config.list_physical_devices(kind) for kind in accelerators)


def _gemm_sized(x, max_pixels: int, even: bool = False) -> bool:
    """Static shape with at most `max_pixels` input pixels (and even sides if `even`)."""
    if not rewrites_apply():
        return False
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


# oneDNN's kernel gradient is the weak part of a conv's training step on a CPU. For two shapes
# that dominate the ResNet generator it is computed another way, with the same sums (tests pin
# them equal), measured in BENCHMARKS.md:
# - few filters (the 64 -> 3 image head, the PatchGAN's 512 -> 1 logits): ~40 GFLOP/s, against
#   ~160 for the same sums posed the other way round (few input channels, many outputs);
# - 3x3 convs with >= 64 channels each way (the residual blocks): one matmul per kernel tap over
#   row-offset views of the flattened input, ~200 GFLOP/s against oneDNN's 150-190.
NARROW_MAX_FILTERS = 4
GEMM_GRAD_MIN_CHANNELS = 64


def kernel_grad_swapped(x, dy, kernel_shape):
    """dW[t] = sum_p x[p + t] dy[p] as the kernel gradient of the conv mapping dy (zero-padded by
    k - 1) to x, read with its taps reversed and its channel axes swapped."""
    kh, kw, cin, cout = kernel_shape
    swapped = tf.raw_ops.Conv2DBackpropFilter(
        input=tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]),
        filter_sizes=[kh, kw, cout, cin], out_backprop=x, strides=[1, 1, 1, 1], padding="VALID",
    )
    return tf.reverse(tf.transpose(swapped, [0, 1, 3, 2]), [0, 1])


def kernel_grad_by_taps(x, dy, kernel_shape):
    """dW[i, j] = X_ij^T dY, one matmul per tap. With dy zero-padded to x's height and width and
    both flattened to [pixels, channels], tap (i, j) reads x from row i * W + j on: a view, no
    copy (the reads that run past a row's end meet dy's zero padding)."""
    kh, kw, cin, cout = kernel_shape
    shape = tf.shape(x)
    height, width = shape[1], shape[2]
    dy = tf.pad(dy, [[0, 0], [0, kh - 1], [0, kw - 1], [0, 0]])
    rows = shape[0] * height * width - (kh - 1) * width - (kw - 1)
    x_flat = tf.reshape(x, [-1, cin])
    dy_flat = tf.reshape(dy, [-1, cout])[:rows]
    taps = [
        tf.matmul(x_flat[i * width + j : i * width + j + rows], dy_flat, transpose_a=True)
        for i in range(kh) for j in range(kw)
    ]
    return tf.reshape(tf.stack(taps), kernel_shape)


def kernel_grad_method(kernel_shape) -> str:
    """"swapped", "taps" or "conv" (the framework's own kernel gradient)."""
    kh, kw, cin, cout = kernel_shape
    if not rewrites_apply():
        return "conv"
    if cout <= NARROW_MAX_FILTERS and kh * kw > 1:
        return "swapped"
    if (kh, kw) == (3, 3) and min(cin, cout) >= GEMM_GRAD_MIN_CHANNELS:
        return "taps"
    return "conv"


def stride1_conv2d(x, kernel):
    """tf.nn.conv2d(x, kernel, 1, "VALID"), its kernel gradient computed by kernel_grad_method."""
    method = kernel_grad_method(tuple(kernel.shape))
    if method == "conv":
        return tf.nn.conv2d(x, kernel, 1, "VALID")

    @tf.custom_gradient
    def conv(x, kernel):
        def grad(dy):
            # No ordering imposed on these ops: forcing dx after the kernel gradient, or the
            # views of x after dy, raised a CycleGAN step's peak tensor memory by 0.3-0.55 GiB.
            dx = tf.raw_ops.Conv2DBackpropInput(
                input_sizes=tf.shape(x), filter=kernel, out_backprop=dy, strides=[1, 1, 1, 1],
                padding="VALID",
            )
            by = kernel_grad_swapped if method == "swapped" else kernel_grad_by_taps
            return dx, by(x, dy, tuple(kernel.shape))

        return tf.nn.conv2d(x, kernel, 1, "VALID"), grad

    return conv(x, kernel)


@keras.saving.register_keras_serializable(package="translate")
class StrideOneConv2D(keras.layers.Conv2D):
    """A stride-1 'valid' Conv2D whose kernel gradient is computed the fastest measured way."""

    def convolution_op(self, inputs, kernel):
        if self.strides != (1, 1) or self.padding != "valid" or self.dilation_rate != (1, 1):
            return super().convolution_op(inputs, kernel)
        return stride1_conv2d(inputs, tf.cast(kernel, inputs.dtype))


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
