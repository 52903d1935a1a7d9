"""The trivial baselines every number is reported next to, so a number means something.

Super-resolution: bicubic upscaling with the papers' kernel. `tf.image.resize(..., "bicubic")`
is Keys' cubic (a = -0.5) on half-pixel centres, the kernel of MATLAB's `imresize`, which made
the published bicubic rows; rounded to uint8 as `imresize` does on uint8 images. OpenCV's
INTER_CUBIC uses a = -0.75 and scores about 0.2 dB higher on Set5, so it is not that baseline.
Colorization: the gray image (the input, with no colour added).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def upscale_bicubic(lr, scale: int) -> np.ndarray:
    """A uint8 HxW(xC) image upscaled `scale` times with MATLAB's bicubic kernel, as uint8.

    No antialiasing: it only matters when shrinking.
    """
    lr = np.asarray(lr)
    if lr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {lr.dtype}")
    if scale < 1 or int(scale) != scale:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    gray = lr.ndim == 2
    batch = tf.constant(lr[None, ..., None] if gray else lr[None], tf.float32)
    size = (lr.shape[0] * int(scale), lr.shape[1] * int(scale))
    up = tf.image.resize(batch, size, method="bicubic")[0].numpy()
    up = np.clip(np.round(up), 0, 255).astype(np.uint8)
    return up[..., 0] if gray else up


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def gray_baseline(rgb) -> np.ndarray:
    """The colorization baseline: the photo's CIELAB lightness with no colour (a = b = 0), uint8 RGB.

    With a = b = 0 the D65 Lab round trip gives R = G = B = sRGB-encoded relative luminance,
    so the gray keeps exactly the L channel a colorization model is given.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected a uint8 HxWx3 RGB image, got {rgb.dtype} {rgb.shape}")
    linear = _srgb_to_linear(rgb.astype(np.float64) / 255.0)
    luminance = linear @ np.array([0.2126729, 0.7151522, 0.0721750])  # sRGB/D65 Y row
    gray = np.clip(np.round(_linear_to_srgb(luminance) * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)
