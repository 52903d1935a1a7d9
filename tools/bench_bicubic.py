"""Bicubic baselines on Set5 / Set14: the numbers every SR result is read against.

    python tools/bench_bicubic.py [--data ../shared/data] [--scale 2 --scale 3 --scale 4]

Prints a Markdown table: TF's bicubic (the papers' kernel) scored BasicSR-style (every image
read as RGB) and MATLAB-style (a gray image scored as it is stored), and OpenCV's INTER_CUBIC,
which is a different kernel, for comparison.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from translate.metrics import evaluate_pairs, upscale_bicubic  # noqa: E402

# Bicubic rows as published: x4 from ESRGAN's table 2, x2 / x3 from RCAN's BI table.
PUBLISHED = {
    ("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
    ("Set14", 2): (30.24, 0.8688), ("Set14", 3): (27.55, 0.7742), ("Set14", 4): (26.00, 0.7027),
}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_png(path: Path, as_stored: bool = False) -> np.ndarray:
    """uint8 RGB, or the channels as stored (a gray PNG stays HxW) with as_stored."""
    image = tf.io.decode_png(tf.io.read_file(str(path)), channels=0 if as_stored else 3).numpy()
    return image[..., 0] if image.shape[-1] == 1 else image


def sr_pairs(set_dir: Path, scale: int, as_stored: bool = False):
    """(LR, HR) uint8 pairs from `image_SRF_k/img_NNN_SRF_k_{LR,HR}.png`."""
    folder = set_dir / f"image_SRF_{scale}"
    hr_files = sorted(folder.glob(f"img_*_SRF_{scale}_HR.png"))
    if not hr_files:
        raise SystemExit(f"no {folder}/img_*_SRF_{scale}_HR.png files")
    return [
        (read_png(Path(str(hr).replace("_HR.png", "_LR.png")), as_stored), read_png(hr, as_stored))
        for hr in hr_files
    ]


def opencv_cubic(lr: np.ndarray, scale: int) -> np.ndarray:
    return cv2.resize(lr, (lr.shape[1] * scale, lr.shape[0] * scale), interpolation=cv2.INTER_CUBIC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scale", type=int, action="append", help="repeatable [2, 3, 4]")
    args = parser.parse_args()

    print("| set | scale (= shave) | upscaling | scoring | PSNR-Y (dB) | SSIM-Y |")
    print("|---|---|---|---|---|---|")
    for name in ("Set5", "Set14"):
        for scale in args.scale or (2, 3, 4):
            for label, upscale, as_stored, scoring in (
                ("TF bicubic", upscale_bicubic, False, "BasicSR (every image as RGB)"),
                ("TF bicubic", upscale_bicubic, True, "MATLAB (a gray image as stored)"),
                ("OpenCV INTER_CUBIC", opencv_cubic, False, "BasicSR (every image as RGB)"),
            ):
                pairs = sr_pairs(args.data / name, scale, as_stored)
                result = evaluate_pairs(
                    (upscale(lr, scale) for lr, _ in pairs),
                    (hr for _, hr in pairs),
                    kind="sr",
                    shave=scale,
                )
                print(
                    f"| {name} ({result['images']} images) | x{scale} | {label} | {scoring} "
                    f"| {result['psnr_y']:.2f} | {result['ssim_y']:.4f} |"
                )
            if (name, scale) in PUBLISHED:
                psnr_, ssim_ = PUBLISHED[name, scale]
                source = "ESRGAN table 2" if scale == 4 else "RCAN, BI table"
                print(f"| {name} | x{scale} | bicubic, published | {source} "
                      f"| {psnr_:.2f} | {ssim_:.4f} |")


if __name__ == "__main__":
    main()
