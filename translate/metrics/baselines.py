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

# Published Y-PSNR (dB) on the benchmark sets, border shaved, as the papers tabulate them (x4:
# ../shared/data/README.md; bicubic, SRCNN and FSRCNN as in the VDSR and EDSR papers' tables).
PUBLISHED_SR_PSNR: dict[tuple[str, int], dict[str, float]] = {
    ("set5", 2): {"bicubic": 33.66, "SRCNN": 36.66, "FSRCNN": 37.00, "VDSR": 37.53,
                  "EDSR-baseline": 37.99},
    ("set5", 3): {"bicubic": 30.39, "SRCNN": 32.75, "FSRCNN": 33.16, "VDSR": 33.66,
                  "EDSR-baseline": 34.37},
    ("set5", 4): {"bicubic": 28.42, "SRCNN": 30.48, "FSRCNN": 30.71, "VDSR": 31.35,
                  "EDSR-baseline": 32.09},
    ("set14", 2): {"bicubic": 30.24, "SRCNN": 32.42, "FSRCNN": 32.63, "VDSR": 33.03,
                   "EDSR-baseline": 33.57},
    ("set14", 3): {"bicubic": 27.55, "SRCNN": 29.28, "FSRCNN": 29.43, "VDSR": 29.77,
                   "EDSR-baseline": 30.28},
    ("set14", 4): {"bicubic": 26.00, "SRCNN": 27.50, "FSRCNN": 27.59, "VDSR": 28.01,
                   "EDSR-baseline": 28.58},
}


def published_sr_note(data_name: str, scale: int) -> str | None:
    """One line of the published figures for a benchmark folder (Set5, Set14) and scale."""
    figures = PUBLISHED_SR_PSNR.get((data_name.lower(), int(scale)))
    if not figures:
        return None
    listed = ", ".join(f"{name} {value:.2f}" for name, value in figures.items())
    return f"published Y-PSNR on {data_name} x{scale}: {listed}"


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
