"""Image metrics as papers report them, as plain functions on uint8 RGB arrays.

`psnr_y(output, reference, shave=4)` / `ssim_y(...)` are the super-resolution figures (Y
channel, border shaved); `psnr`, `ssim`, `colourfulness` the colorization ones; `fid`, `kid`
on `inception_features(...)` compare sets. `image_measures` scores one image, `evaluate_pairs`
averages per image as papers do, and the baselines (`upscale_bicubic`, `gray_baseline`) give
every number its reference point.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from translate.errors import UserError
from translate.metrics.baselines import gray_baseline, upscale_bicubic
from translate.metrics.distribution import (
    INCEPTION_WEIGHTS_FILE,
    KID,
    fid,
    inception_features,
    kid,
    resolve_inception_weights,
)
from translate.metrics.image import (
    as_rgb,
    colourfulness,
    psnr,
    psnr_y,
    shave_border,
    ssim,
    ssim_y,
    y_channel,
)

KINDS = ("sr", "rgb")


def image_measures(kind: str, output, reference, shave: int = 0) -> dict[str, float]:
    """One image's measures: kind "sr" psnr_y/ssim_y, kind "rgb" psnr/ssim/colourfulness."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "sr":
        return {
            "psnr_y": psnr_y(output, reference, shave),
            "ssim_y": ssim_y(output, reference, shave),
        }
    return {
        "psnr": psnr(output, reference, shave),
        "ssim": ssim(output, reference, shave),
        "colourfulness": colourfulness(output),
        "colourfulness_reference": colourfulness(reference),
    }


def evaluate_pairs(
    outputs: Iterable, references: Iterable, kind: str = "sr", shave: int = 0
) -> dict:
    """Mean over images of each per-image measure (the papers' average, not a pooled MSE).

    kind "sr": psnr_y, ssim_y (pass shave=scale); kind "rgb": psnr, ssim and colourfulness of
    outputs and references. Returns {"kind", "images", "shave", <means>..., "per_image": [...]}.
    Inputs are uint8 images, any iterables (streamed: one pair in memory at a time).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    per_image = []
    try:
        for index, (output, reference) in enumerate(zip(outputs, references, strict=True)):
            try:
                per_image.append(image_measures(kind, output, reference, shave))
            except ValueError as error:
                raise UserError(f"image {index}: {error}") from error
    except ValueError as error:  # zip(strict=True): one side ran out first
        raise UserError(f"outputs and references differ in number: {error}") from error
    if not per_image:
        raise UserError("no image pairs to evaluate: the outputs and references are empty")
    means = {name: float(np.mean([row[name] for row in per_image])) for name in per_image[0]}
    return {"kind": kind, "images": len(per_image), "shave": shave, **means, "per_image": per_image}


__all__ = [
    "INCEPTION_WEIGHTS_FILE",
    "KID",
    "as_rgb",
    "colourfulness",
    "evaluate_pairs",
    "fid",
    "gray_baseline",
    "image_measures",
    "inception_features",
    "kid",
    "psnr",
    "psnr_y",
    "resolve_inception_weights",
    "shave_border",
    "ssim",
    "ssim_y",
    "upscale_bicubic",
    "y_channel",
]
