"""Super-resolution generators: LR in, scale x LR out, sub-pixel upsampling (depth_to_space).

Both end with a global residual over the bicubic-upsampled input: the network only learns the
missing detail, so from the first step its output is as good as bicubic and training is fast.
Inputs and outputs are in [-1, 1] (the output is not squashed by tanh; callers clip).

- edsr: EDSR-baseline (Lim et al. 2017): conv, 16 residual blocks of conv-ReLU-conv without
  batch norm and with residual scaling, conv + long skip, sub-pixel upsampler, conv.
  edsr_8blocks: the same with 8 blocks (with ngf 48: 2.3x the steps of EDSR-baseline per hour).
- srresnet: SRResNet (Ledig et al. 2017): 9x9 conv + PReLU, 16 residual blocks conv-norm-PReLU-
  conv-norm, conv-norm + long skip, sub-pixel x2 stages with PReLU, 9x9 conv.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from translate.layers import uses_bias
from translate.networks.blocks import norm
from translate.networks.cpu_kernels import portable_graph

SCALES = (2, 3, 4)


class DepthToSpace(keras.layers.Layer):
    """Sub-pixel shuffle: [N, H, W, C * r * r] -> [N, H * r, W * r, C] (tf.nn.depth_to_space)."""

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = block_size

    def call(self, x):
        return tf.nn.depth_to_space(x, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, h * r if h else None, w * r if w else None, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


def _keys(t: float, a: float = -0.5) -> float:
    """Keys' cubic convolution kernel at distance t."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t**3 - (a + 3) * t**2 + 1
    return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a if t < 2 else 0.0


def _bicubic_axis(x, scale: int, axis: int):
    """tf.image.resize(method="bicubic") by an integer scale along one axis, as its kernel does
    it (half-pixel centres, Keys a = -0.5 from a 1024-entry table, taps outside the image
    weighted 0 and the rest renormalised): output pixel scale * i + r reads pixels i-2..i+2."""
    n = tf.shape(x)[axis]
    index = tf.range(n)
    broadcast = [-1 if i == axis else 1 for i in range(4)]
    phases = []
    for r in range(scale):
        offset = (r + 0.5) / scale - 0.5
        base = 0 if offset >= 0 else -1
        f = round((offset - base) * 1024) / 1024  # TF's table position
        total = acc = 0.0
        for k, w in zip(range(-1, 3), (_keys(f + 1), _keys(f), _keys(1 - f), _keys(2 - f)), strict=True):
            source = index + base + k
            weight = tf.reshape(tf.cast((source >= 0) & (source < n), x.dtype) * w, broadcast)
            acc += tf.gather(x, tf.clip_by_value(source, 0, n - 1), axis=axis) * weight
            total += weight
        phases.append(acc / total)
    dims = [d if d is not None else tf.shape(x)[i] for i, d in enumerate(x.shape)]
    dims[axis] = scale * n
    return tf.reshape(tf.stack(phases, axis=axis + 1), tf.stack(dims))


class BicubicUpsample(keras.layers.Layer):
    """x scale by bicubic interpolation (TF's Keys a = -0.5, MATLAB's upscaling kernel).

    keras.layers.UpSampling2D("bicubic") needs static sizes; this works with unknown ones
    (exported graphs take any image size).
    """

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        if portable_graph():  # TFLite has no ResizeBicubic: the same weights, written out
            return _bicubic_axis(_bicubic_axis(x, self.scale, 1), self.scale, 2)
        size = tf.shape(x)[1:3] * self.scale
        return tf.image.resize(x, size, method="bicubic")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.scale
        return (n, h * s if h else None, w * s if w else None, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def _stages(scale: int) -> list[int]:
    """Sub-pixel stages: x2, x3 in one step; x4 as two x2 steps (as EDSR and SRResNet do)."""
    if scale not in SCALES:
        raise ValueError(f"super-resolution scale must be one of {SCALES} (got {scale})")
    return [2, 2] if scale == 4 else [scale]


def _conv(x, filters, kernel, init, bias=True, name=None):
    return keras.layers.Conv2D(
        filters, kernel, padding="same", use_bias=bias, kernel_initializer=init, name=name
    )(x)


def _tail_init(init, input_channels: int, output_channels: int):
    """Zeros for the last conv when a bicubic skip exists: a new model is exactly bicubic, and
    training adds detail from there (the first steps never make the picture worse)."""
    return "zeros" if input_channels == output_channels else init


def _bicubic_skip(inputs, x, scale: int, output_channels: int, input_channels: int):
    """x + bicubic(inputs) when the channels agree; the output in float32."""
    x = keras.layers.Activation("linear", dtype="float32", name="residual")(x)
    if input_channels != output_channels:
        return x
    up = BicubicUpsample(scale, dtype="float32", name="bicubic")(inputs)
    return keras.layers.Add(dtype="float32", name="output")([x, up])


def edsr_generator(
    input_channels: int,
    output_channels: int,
    scale: int = 4,
    ngf: int = 64,
    n_blocks: int = 16,
    res_scale: float = 0.1,
    init: keras.initializers.Initializer | None = None,
    name: str = "edsr",
    **_unused,
) -> keras.Model:
    """EDSR-baseline. No normalization by design (norm and dropout options are ignored).

    res_scale 0.1 is EDSR's stabiliser for wide models; the paper's baseline uses 1.0 (the
    parameter count is the same). With a global bicubic skip 0.1 starts the body near identity.
    """
    init = init or keras.initializers.HeNormal()
    inputs = keras.Input((None, None, input_channels), name="image")
    head = _conv(inputs, ngf, 3, init, name="head_conv")
    x = head
    for b in range(n_blocks):
        y = _conv(x, ngf, 3, init, name=f"block{b}_conv1")
        y = keras.layers.ReLU()(y)
        y = _conv(y, ngf, 3, init, name=f"block{b}_conv2")
        if res_scale != 1.0:
            y = keras.layers.Rescaling(res_scale, name=f"block{b}_scale")(y)
        x = keras.layers.Add(name=f"block{b}_add")([x, y])
    x = _conv(x, ngf, 3, init, name="body_conv")
    x = keras.layers.Add(name="long_skip")([x, head])
    for i, r in enumerate(_stages(scale)):
        x = _conv(x, ngf * r * r, 3, init, name=f"up{i}_conv")
        x = DepthToSpace(r, name=f"up{i}_shuffle")(x)
    tail_init = _tail_init(init, input_channels, output_channels)
    x = _conv(x, output_channels, 3, tail_init, name="tail_conv")
    outputs = _bicubic_skip(inputs, x, scale, output_channels, input_channels)
    return keras.Model(inputs, outputs, name=name)


def srresnet_generator(
    input_channels: int,
    output_channels: int,
    scale: int = 4,
    ngf: int = 64,
    n_blocks: int = 16,
    norm_kind: str = "batch",
    init: keras.initializers.Initializer | None = None,
    name: str = "srresnet",
    **_unused,
) -> keras.Model:
    """SRResNet; norm_kind "batch" is the paper's, "none" drops it (as later SR work does)."""
    init = init or keras.initializers.HeNormal()
    bias = uses_bias(norm_kind)

    def prelu(x, name=None):
        return keras.layers.PReLU(shared_axes=[1, 2], name=name)(x)

    inputs = keras.Input((None, None, input_channels), name="image")
    head = prelu(_conv(inputs, ngf, 9, init, name="head_conv"))
    x = head
    for b in range(n_blocks):
        y = prelu(norm(_conv(x, ngf, 3, init, bias=bias, name=f"block{b}_conv1"), norm_kind))
        y = norm(_conv(y, ngf, 3, init, bias=bias, name=f"block{b}_conv2"), norm_kind)
        x = keras.layers.Add(name=f"block{b}_add")([x, y])
    x = norm(_conv(x, ngf, 3, init, bias=bias, name="body_conv"), norm_kind)
    x = keras.layers.Add(name="long_skip")([x, head])
    for i, r in enumerate(_stages(scale)):
        x = _conv(x, ngf * r * r, 3, init, name=f"up{i}_conv")
        x = prelu(DepthToSpace(r, name=f"up{i}_shuffle")(x))
    tail_init = _tail_init(init, input_channels, output_channels)
    x = _conv(x, output_channels, 9, tail_init, name="tail_conv")
    outputs = _bicubic_skip(inputs, x, scale, output_channels, input_channels)
    return keras.Model(inputs, outputs, name=name)
