"""Reading an input photo and writing its output as the input was (bit depth, alpha, gray)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from translate.apply.translator import to_rgb01


def _imageio():
    """translate.data.imageio's readers and atomic writers."""
    from translate.data import imageio

    return imageio


@dataclass
class Decoded:
    """What one input becomes before inference: the photo, and what the output must carry."""

    photo: np.ndarray  # HxWx3 float32 in [0, 1]
    alpha: np.ndarray | None  # HxW, in the input's dtype
    gray: bool
    dtype: np.dtype


def decode(path: Path) -> Decoded:
    image = _imageio().read_image(path, channels=None)
    if image.ndim == 2:
        image = image[..., None]
    channels = image.shape[-1]
    alpha = image[..., -1] if channels in (2, 4) else None
    return Decoded(to_rgb01(image), alpha, channels in (1, 2), image.dtype)


def finish(decoded: Decoded, output01: np.ndarray, fmt: str, keep_gray: bool) -> np.ndarray:
    """The translated photo as the array to write: gray kept gray when the task allows, the
    input's alpha carried over (resized with the output), 16 bits kept where the format can."""
    import cv2

    image = output01
    if decoded.gray and keep_gray:
        image = image @ np.array([0.299, 0.587, 0.114], np.float32)
        image = image[..., None]
    sixteen = decoded.dtype == np.uint16 and fmt == "png"
    top = 65535.0 if sixteen else 255.0
    image = np.clip(np.rint(image * top), 0, top).astype(np.uint16 if sixteen else np.uint8)
    if decoded.alpha is not None and fmt != "jpg":
        alpha = decoded.alpha
        if alpha.shape != image.shape[:2]:
            alpha = cv2.resize(alpha, image.shape[1::-1], interpolation=cv2.INTER_CUBIC)
        if alpha.dtype != image.dtype:
            src_top = 65535.0 if alpha.dtype == np.uint16 else 255.0
            alpha = np.rint(alpha.astype(np.float32) * (top / src_top)).astype(image.dtype)
        image = np.concatenate([image, alpha[..., None]], axis=-1)
    return image[..., 0] if image.shape[-1] == 1 else image
