"""CPU kernels behind the conv layers of translate.networks.blocks: the same maths as the
framework's convolutions, computed the way measured fastest on a CPU (BENCHMARKS.md), traced only
where `rewrites_apply()` (a CPU, not switched off by `framework_convs()`).
"""

from __future__ import annotations

import contextlib

import tensorflow as tf

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


_portable = False


@contextlib.contextmanager
def portable_ops():
    """Trace for other runtimes (ONNX, TFLite): the framework's own convs, and the ops every
    converter reads right (UpConv3's explicit-padding transposed conv as a crop: tf2onnx and
    the TFLite converter mistranslate or refuse it). Same maths."""
    global _portable
    saved, _portable = _portable, True
    try:
        with framework_convs():
            yield
    finally:
        _portable = saved


def portable_graph() -> bool:
    return _portable


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
