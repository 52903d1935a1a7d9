"""Per-image measures on uint8 RGB arrays, computed exactly as the papers report them.

The conventions are BasicSR's (`calculate_psnr` / `calculate_ssim`), which reproduce the MATLAB
evaluation scripts behind the published super-resolution tables: float64 maths on [0, 255]
values, the BT.601 luma of MATLAB's `rgb2ycbcr` (not rounded), the border shaved before
anything else, and SSIM with an 11x11 Gaussian window (sigma 1.5) applied in 'valid' mode.
A different choice in any of these moves a Set5 figure by a tenth of a dB or more, which is
the size of the improvements papers claim.
"""

from __future__ import annotations

import math

import numpy as np

# MATLAB rgb2ycbcr, BT.601 "studio swing": Y in [16, 235] for RGB in [0, 255].
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
_Y_OFFSET = 16.0

_SSIM_K1, _SSIM_K2, _SSIM_RANGE = 0.01, 0.03, 255.0
_SSIM_SIZE, _SSIM_SIGMA = 11, 1.5


def _as_uint8(image) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image in [0, 255], got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise ValueError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {array.shape}")
    return array


def as_rgb(image) -> np.ndarray:
    """An image as float64 HxWx3 in [0, 255]; a gray HxW or HxWx1 image repeats into R=G=B."""
    array = _as_uint8(image)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array.astype(np.float64)


def y_channel(image) -> np.ndarray:
    """The BT.601 luma of MATLAB's `rgb2ycbcr`, float64 HxW in [16, 235], not rounded.

    A single-channel image is taken as its own luma, as the MATLAB scripts behind the
    published tables do (`if size(im, 3) == 3, im = rgb2ycbcr(im)`). BasicSR instead reads
    every image as colour, so a gray image goes through the conversion: on Set14, whose
    third image is gray, that is the whole gap between 26.09 / 0.7049 (BasicSR) and the
    published 26.00 / 0.7027. Pass gray images as HxW for the one, as RGB for the other.
    """
    array = _as_uint8(image)
    if array.shape[-1] == 1:
        return array[..., 0].astype(np.float64)
    return array.astype(np.float64) @ _Y_WEIGHTS + _Y_OFFSET


def shave_border(image: np.ndarray, shave: int) -> np.ndarray:
    """Drop `shave` pixels on every side: SR papers leave out the border the scale corrupts."""
    if shave < 0:
        raise ValueError(f"shave must be >= 0, got {shave}")
    if shave == 0:
        return image
    height, width = image.shape[:2]
    if 2 * shave >= min(height, width):
        raise ValueError(f"shaving {shave} pixels leaves nothing of a {height}x{width} image")
    return image[shave:-shave, shave:-shave]


def _pair(output, reference, shave: int, *, y_only: bool) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_uint8(output), _as_uint8(reference)
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"output is {a.shape[:2]} but reference is {b.shape[:2]}: sizes must match")
    if y_only and a.shape[-1] != b.shape[-1]:
        raise ValueError(
            "one image is gray and the other colour: their Y channels are not comparable; "
            "pass both as RGB (BasicSR) or both as gray (the MATLAB scripts)"
        )
    convert = y_channel if y_only else as_rgb
    a, b = convert(a), convert(b)
    return shave_border(a, shave), shave_border(b, shave)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def psnr(output, reference, shave: int = 0) -> float:
    """PSNR in dB over all RGB channels (peak 255); inf for identical images."""
    return _psnr(*_pair(output, reference, shave, y_only=False))


def psnr_y(output, reference, shave: int = 0) -> float:
    """PSNR in dB on the Y channel, `shave` border pixels left out: the SR papers' PSNR."""
    return _psnr(*_pair(output, reference, shave, y_only=True))


def gaussian_window(size: int = _SSIM_SIZE, sigma: float = _SSIM_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian whose outer product is SSIM's window (MATLAB fspecial)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 2-D filtering with only the positions where the window fits ('valid')."""
    k = len(taps)
    height, width = image.shape
    rows = sum(taps[i] * image[i : height - k + 1 + i] for i in range(k))
    return sum(taps[j] * rows[:, j : width - k + 1 + j] for j in range(k))


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    taps = gaussian_window()
    if min(a.shape) < len(taps):
        raise ValueError(f"SSIM needs at least {len(taps)}x{len(taps)} pixels, got {a.shape}")
    c1 = (_SSIM_K1 * _SSIM_RANGE) ** 2
    c2 = (_SSIM_K2 * _SSIM_RANGE) ** 2
    mu_a, mu_b = _filter_valid(a, taps), _filter_valid(b, taps)
    var_a = _filter_valid(a * a, taps) - mu_a**2
    var_b = _filter_valid(b * b, taps) - mu_b**2
    cov = _filter_valid(a * b, taps) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_map.mean())


def ssim(output, reference, shave: int = 0) -> float:
    """SSIM of each RGB channel, averaged (as BasicSR and MATLAB's scripts do for colour)."""
    a, b = _pair(output, reference, shave, y_only=False)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(3)]))


def ssim_y(output, reference, shave: int = 0) -> float:
    """SSIM on the Y channel, `shave` border pixels left out: the SR papers' SSIM."""
    return _ssim_channel(*_pair(output, reference, shave, y_only=True))


def colourfulness(image) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M: 0 for gray, ~15 "slightly", ~60+ "highly".

    From the opponent channels rg = R - G and yb = (R + G) / 2 - B on [0, 255] values:
    M = sqrt(std_rg^2 + std_yb^2) + 0.3 * sqrt(mean_rg^2 + mean_yb^2). Colorization models
    that play safe produce sepia; this number says so where PSNR cannot.
    """
    rgb = as_rgb(image)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    spread = math.hypot(float(rg.std()), float(yb.std()))
    mean = math.hypot(float(rg.mean()), float(yb.mean()))
    return spread + 0.3 * mean
