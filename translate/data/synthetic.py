"""The built-in generated datasets: no download, deterministic from a seed.

`shapes`: two unpaired domains, plain coloured shapes (A) and striped shapes (B), for CycleGAN.
`shapes-paired`: a shape's outline (A) beside the same shape filled with stripes (B), for pix2pix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np

from translate.io_utils import publish_mode

SIZE = 64
COUNTS = {"train": 200, "test": 20}
GENERATORS = ("shapes", "shapes-paired")
BACKGROUND = (235, 235, 225)  # RGB behind every shape
STRIPE_PERIOD = 6  # px along x + y, of the striped domain's diagonal stripes


def _shape_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A filled circle, square or triangle at a random place and scale, as a uint8 mask."""
    import cv2

    mask = np.zeros((size, size), np.uint8)
    r = int(rng.integers(size // 6, size // 3))
    cx, cy = (int(v) for v in rng.integers(r + 2, size - r - 2, size=2))
    kind = rng.integers(3)
    if kind == 0:
        cv2.circle(mask, (cx, cy), r, 255, -1)
    elif kind == 1:
        cv2.rectangle(mask, (cx - r, cy - r), (cx + r, cy + r), 255, -1)
    else:
        pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
        cv2.fillPoly(mask, [pts], 255)
    return mask


def _colour(rng: np.random.Generator) -> np.ndarray:
    import cv2

    hsv = np.array([[[rng.integers(0, 180), 200, 220]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]


def _render(mask: np.ndarray, colour, background, striped: bool,
            period: int = STRIPE_PERIOD) -> np.ndarray:
    size = mask.shape[0]
    image = np.empty((size, size, 3), np.uint8)
    image[:] = background
    inside = mask > 0
    if striped:
        yy, xx = np.mgrid[:size, :size]
        inside_colour = inside & (((xx + yy) // (period // 2)) % 2 == 0)
        image[inside] = 255
        image[inside_colour] = colour
    else:
        image[inside] = colour
    return image


def _outline(mask: np.ndarray) -> np.ndarray:
    import cv2

    edges = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    image = np.full((*mask.shape, 3), 255, np.uint8)
    image[edges > 0] = 0
    return image


def _write(folder: Path, index: int, image: np.ndarray) -> None:
    from translate.data.imageio import encode_image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{index:04d}.png").write_bytes(encode_image(image, ".png"))


def generate(kind: str, into, seed: int = 0, size: int = SIZE, counts: dict | None = None) -> None:
    """Draw the `kind` dataset into the folder `into` (which the caller makes atomic)."""
    into = Path(into)
    counts = counts or COUNTS
    background = np.array(BACKGROUND, np.uint8)
    for split, n in counts.items():
        for domain_id, domain in enumerate("AB"):
            rng = np.random.default_rng([seed, zlib.crc32(split.encode()), domain_id])
            for i in range(n if kind == "shapes" else (n if domain == "A" else 0)):
                mask, colour = _shape_mask(rng, size), _colour(rng)
                if kind == "shapes":
                    image = _render(mask, colour, background, striped=domain == "B")
                    _write(into / f"{split}{domain}", i, image)
                else:
                    pair = np.concatenate(
                        [_outline(mask), _render(mask, colour, background, striped=True)], axis=1
                    )
                    _write(into / split, i, pair)


def ensure_synthetic(kind: str, target, seed: int = 0) -> Path:
    """The generated dataset at `target`, made on first use (in a temp dir, then renamed)."""
    target = Path(target)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".generating", dir=target.parent))
    try:
        generate(kind, tmp, seed=seed)
        publish_mode(tmp, directory=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():  # not a concurrent maker that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
