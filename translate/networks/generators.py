"""Generators of the reference (models/networks.py): ResNet and U-Net, as functional Keras models.

Inputs are (None, None, C): any size the architecture allows works at run time.
"""

from __future__ import annotations

import keras

from translate.layers import (
    BlurDownsample,
    BlurUpsample,
    LeakyReLU,
    ReflectionPadding2D,
    float_dtype,
    reference_uses_bias,
)
from translate.networks.blocks import ConvFactory, norm


def resnet_generator(
    input_channels: int,
    output_channels: int,
    n_blocks: int,
    ngf: int = 64,
    norm_kind: str = "instance",
    dropout: bool = False,
    init: keras.initializers.Initializer | None = None,
    antialias: bool = False,
    antialias_up: bool = False,
    taps: list | None = None,
    name: str = "resnet_generator",
) -> keras.Model:
    """Johnson et al.'s ResNet: c7s1-ngf, two stride-2 downs, n residual blocks, two ups, c7s1.

    antialias / antialias_up: the CUT reference's variant, a stride-1 conv then a blur-pool
    (BlurDownsample) for each down, a blur upsampling then a stride-1 conv for each up.
    taps: a list that receives the output of each module of the reference's nn.Sequential, in
    its order (pad, conv, norm, ReLU, ...; one entry per residual block), so that CUT reads its
    PatchNCE features at the reference's layer indices.
    """
    f = ConvFactory(init)
    bias = reference_uses_bias(norm_kind)
    taps = [] if taps is None else taps

    def tap(x):
        taps.append(x)
        return x

    def norm_relu(conv):
        """norm then ReLU after a conv, and the taps of the three. The reference's ReLU works
        in place: the tensor it reads (the norm's output; with norm none, the conv's own)
        holds the ReLU's output once the pass goes on, and so its tap here does too."""
        out = keras.layers.ReLU()(norm(conv, norm_kind))
        taps.extend([out if norm_kind == "none" else conv, out, out])
        return out

    inputs = keras.Input((None, None, input_channels), name="image")
    x = tap(ReflectionPadding2D(3)(inputs))
    x = norm_relu(f.conv(x, ngf, 7, bias=bias, name="stem_conv"))
    for i in range(2):
        filters = ngf * 2 ** (i + 1)
        if antialias:
            x = norm_relu(f.conv(x, filters, 3, pad=1, bias=bias, name=f"down{i}_conv"))
            x = tap(BlurDownsample(name=f"down{i}_blur")(x))
        else:
            x = norm_relu(f.conv(x, filters, 3, stride=2, pad=1, bias=bias, name=f"down{i}_conv"))
    dim = ngf * 4
    for b in range(n_blocks):
        y = f.conv(x, dim, 3, pad=1, reflect=True, bias=bias, name=f"block{b}_conv1")
        y = keras.layers.ReLU()(norm(y, norm_kind))
        if dropout:
            y = keras.layers.Dropout(0.5)(y)
        y = f.conv(y, dim, 3, pad=1, reflect=True, bias=bias, name=f"block{b}_conv2")
        x = tap(keras.layers.Add(name=f"block{b}_add")([x, norm(y, norm_kind)]))
    for i in range(2):
        filters = ngf * 2 ** (1 - i)
        if antialias_up:
            x = tap(BlurUpsample(name=f"up{i}_blur")(x))
            x = norm_relu(f.conv(x, filters, 3, pad=1, bias=bias, name=f"up{i}_conv"))
        else:
            x = norm_relu(f.up3(x, filters, bias=bias, name=f"up{i}_convT"))
    x = tap(ReflectionPadding2D(3)(x))
    x = tap(f.conv(x, output_channels, 7, bias=True, name="head_conv"))
    # tanh in float32 keeps outputs exact under mixed precision (float_dtype).
    outputs = tap(keras.layers.Activation("tanh", dtype=float_dtype(), name="tanh")(x))
    return keras.Model(inputs, outputs, name=name)


def unet_generator(
    input_channels: int,
    output_channels: int,
    num_downs: int,
    ngf: int = 64,
    norm_kind: str = "batch",
    dropout: bool = False,
    init: keras.initializers.Initializer | None = None,
    name: str = "unet_generator",
) -> keras.Model:
    """The reference's recursive U-Net, unrolled: num_downs stride-2 levels, 1x1 at the bottom for
    an input of 2**num_downs. Dropout sits in the num_downs-5 innermost non-bottom decoder blocks.

    Faithful detail: the reference's in-place LeakyReLU also rewrites the tensor that the skip
    connection concatenates, so each skip carries LeakyReLU(x), not x. We do the same.
    """
    if num_downs < 5:
        raise ValueError("a U-Net needs num_downs >= 5 (the reference's smallest has 7)")
    f = ConvFactory(init)
    bias = reference_uses_bias(norm_kind)
    # (outer, inner) channels per level, outermost first; the outermost outer is the image.
    plan = [(ngf, ngf * 2), (ngf * 2, ngf * 4), (ngf * 4, ngf * 8)]
    plan += [(ngf * 8, ngf * 8)] * (num_downs - 5) + [(ngf * 8, ngf * 8)]

    def level(x, i):
        """Block i (0 = just inside the outermost); x has plan[i][0] channels."""
        outer, inner = plan[i]
        innermost = i == len(plan) - 1
        skip = LeakyReLU(0.2)(x)
        d = f.down4(skip, inner, bias=bias, name=f"down{i + 1}_conv")
        if not innermost:
            d = level(norm(d, norm_kind), i + 1)
        u = f.up4(keras.layers.ReLU()(d), outer, bias=bias, name=f"up{i + 1}_convT")
        u = norm(u, norm_kind)
        if dropout and not innermost and i >= 3:
            u = keras.layers.Dropout(0.5)(u)
        return keras.layers.Concatenate(name=f"skip{i + 1}")([skip, u])

    inputs = keras.Input((None, None, input_channels), name="image")
    x = f.down4(inputs, ngf, bias=bias, name="down0_conv")
    x = level(x, 0)
    x = f.up4(keras.layers.ReLU()(x), output_channels, bias=True, name="up0_convT")
    outputs = keras.layers.Activation("tanh", dtype=float_dtype(), name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
