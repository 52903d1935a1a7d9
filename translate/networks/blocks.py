"""Convolutions padded exactly as PyTorch pads them, so shapes and alignment match the reference."""

from __future__ import annotations

import keras

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
        return keras.layers.Conv2D(
            filters, 4, strides=2, padding="same", use_bias=bias,
            kernel_initializer=self.init, name=name,
        )(x)

    def up4(self, x, filters, bias=True, name=None):
        """ConvTranspose2d(k4, s2, p1): Keras 'same' crops the same (1, 1) as PyTorch."""
        return keras.layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=bias,
            kernel_initializer=self.init, name=name,
        )(x)

    def up3(self, x, filters, bias=True, name=None):
        """ConvTranspose2d(k3, s2, p1, output_padding=1): full output cropped by 1 at the start.

        Keras 'same' would crop at the end instead (a one-pixel shift from the reference).
        """
        x = keras.layers.Conv2DTranspose(
            filters, 3, strides=2, padding="valid", use_bias=bias,
            kernel_initializer=self.init, name=name,
        )(x)
        return keras.layers.Cropping2D(((1, 0), (1, 0)))(x)


def norm(x, kind, name=None):
    """Apply the norm layer of `kind`, or nothing for 'none'."""
    layer = normalization(kind, name=name)
    return x if layer is None else layer(x)
