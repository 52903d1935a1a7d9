"""Discriminators of the reference: PatchGAN with n layers (`basic` = 3, 70x70) and PixelGAN."""

from __future__ import annotations

import keras

from translate.layers import BlurDownsample, LeakyReLU, float_dtype, reference_uses_bias
from translate.networks.blocks import ConvFactory, norm


def nlayer_discriminator(
    input_channels: int,
    ndf: int = 64,
    n_layers: int = 3,
    norm_kind: str = "instance",
    init: keras.initializers.Initializer | None = None,
    antialias: bool = False,
    name: str = "patchgan",
) -> keras.Model:
    """PatchGAN: n stride-2 convs, one stride-1 conv, then a 1-channel map of real/fake logits.

    antialias: the CUT reference's variant, each stride-2 conv a stride-1 conv whose activation
    is blur-pooled (BlurDownsample).
    """
    f = ConvFactory(init)
    bias = reference_uses_bias(norm_kind)
    stride = 1 if antialias else 2

    def down(x):
        return BlurDownsample()(x) if antialias else x

    inputs = keras.Input((None, None, input_channels), name="image")
    x = down(LeakyReLU(0.2)(f.conv(inputs, ndf, 4, stride=stride, pad=1, name="conv0")))
    mult = 1
    for n in range(1, n_layers):
        mult = min(2**n, 8)
        x = f.conv(x, ndf * mult, 4, stride=stride, pad=1, bias=bias, name=f"conv{n}")
        x = down(LeakyReLU(0.2)(norm(x, norm_kind)))
    mult = min(2**n_layers, 8)
    x = f.conv(x, ndf * mult, 4, stride=1, pad=1, bias=bias, name=f"conv{n_layers}")
    x = LeakyReLU(0.2)(norm(x, norm_kind))
    x = f.conv(x, 1, 4, stride=1, pad=1, name="logits")
    outputs = keras.layers.Activation("linear", dtype=float_dtype(), name="patch_logits")(x)
    return keras.Model(inputs, outputs, name=name)


def pixel_discriminator(
    input_channels: int,
    ndf: int = 64,
    norm_kind: str = "instance",
    init: keras.initializers.Initializer | None = None,
    name: str = "pixelgan",
) -> keras.Model:
    """1x1 PixelGAN: judges each pixel's colour alone."""
    f = ConvFactory(init)
    bias = reference_uses_bias(norm_kind)
    inputs = keras.Input((None, None, input_channels), name="image")
    x = LeakyReLU(0.2)(f.conv(inputs, ndf, 1, name="conv0"))
    x = f.conv(x, ndf * 2, 1, bias=bias, name="conv1")
    x = LeakyReLU(0.2)(norm(x, norm_kind))
    x = f.conv(x, 1, 1, bias=bias, name="logits")
    outputs = keras.layers.Activation("linear", dtype=float_dtype(), name="pixel_logits")(x)
    return keras.Model(inputs, outputs, name=name)
