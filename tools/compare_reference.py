"""Train the PyTorch reference and translate side by side from the same weights on the same data.

    python tools/compare_reference.py --ref-dir ../shared/reference/pytorch-CycleGAN-and-pix2pix \
        --model pix2pix --data ../shared/data/facades --iters 10
    python tools/compare_reference.py --ref-dir ... --model cycle_gan --data ../shared/data/facades \
        --size 128 --iters 5 --float64 --ref-options "--lambda_identity 0.5"

Prints each iteration's losses (ours / the reference's) and, at the end, the largest weight
difference per network. Random parts are switched off so that both see the same numbers:
dropout (--no_dropout) and the image pool (--pool_size 0); add other reference options with
--ref-options. Needs torch (pip install 'image-translate[torch]') and a reference checkout.
--float64 runs both in double precision: float32's rounding alone flips Adam's first, sign-like
step for the few weights whose gradient is near zero, in either framework.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def images(folder: Path, count: int) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    if not files:
        raise SystemExit(f"no images in {folder}")
    return [files[i % len(files)] for i in range(count)]


def load(path: Path, size: int, half: str | None = None) -> np.ndarray:
    """An image as a [1, size, size, 3] batch in [-1, 1]; half 'left'/'right' of an A|B pair."""
    import cv2

    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if half is not None:
        w = image.shape[1] // 2
        image = image[:, :w] if half == "left" else image[:, w:]
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return (image.astype(np.float64) / 127.5 - 1.0)[None]


def batches(data: Path, model: str, count: int, size: int):
    """(A, B) batches: pix2pix from train/ A|B pairs, CycleGAN from trainA/ and trainB/."""
    if model == "pix2pix":
        for path in images(data / "train", count):
            yield load(path, size, "left"), load(path, size, "right")
    else:
        for a, b in zip(images(data / "trainA", count), images(data / "trainB", count),
                        strict=True):
            yield load(a, size), load(b, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref-dir", required=True, type=Path, help="reference checkout")
    parser.add_argument("--model", required=True, choices=("pix2pix", "cycle_gan"))
    parser.add_argument("--data", required=True, type=Path,
                        help="pix2pix: a folder with train/ (A|B images); cycle_gan: trainA/, trainB/")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--size", type=int, default=256, help="images are resized to size x size")
    parser.add_argument("--float64", action="store_true", help="both in double precision")
    parser.add_argument("--ref-options", default="", help="more reference options, quoted")
    args = parser.parse_args()
    if args.iters < 1 or args.size < 16:
        raise SystemExit("--iters must be >= 1 and --size >= 16")

    warnings.filterwarnings("ignore")
    from translate import import_tensorflow_quietly

    import_tensorflow_quietly()
    from translate.reference.oracle import ReferencePair

    argv = ["--model", args.model, "--no_dropout", "--pool_size", "0",
            *shlex.split(args.ref_options)]
    pair = ReferencePair.create(args.ref_dir, argv, tempfile.mkdtemp(),
                                dtype="float64" if args.float64 else "float32")
    names = None
    for i, (a, b) in enumerate(batches(args.data, args.model, args.iters, args.size)):
        ours, theirs = pair.step(a, b)
        if names is None:
            names = list(theirs)
            print("iter  " + "  ".join(f"{n + ' ours/ref':>24}" for n in names) + "  max rel")
        cells = [f"{ours[n]:11.5f}/{theirs[n]:<11.5f}" for n in names]
        worst = max(abs(ours[n] - theirs[n]) / max(abs(theirs[n]), 1e-8) for n in names)
        print(f"{i + 1:4d}  " + "  ".join(f"{c:>24}" for c in cells) + f"  {worst:.1e}",
              flush=True)
    differences = pair.weight_differences()
    print("\nlargest weight difference per network (|ours - reference|):")
    for net in sorted({k.split(".")[0] for k in differences}):
        key = max((k for k in differences if k.startswith(net + ".")), key=differences.get)
        print(f"  {net}: {differences[key]:.2e} ({key})")
    print(f"learning rate {pair.opt.lr}: a flipped Adam step moves a weight by 2 x lr")


if __name__ == "__main__":
    main()
