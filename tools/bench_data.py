"""How fast the input pipeline delivers training examples at 256x256 with the default jitter.

Compares the native TF preprocessing (what `make_dataset` uses: resize 286 -> random crop 256 ->
flip, stateless ops in the tf.data graph) with the same jitter done by albumentations through
tf.numpy_function. Data: ../shared/data/facades when present (aligned A|B JPEGs and the unaligned
256x256 halves), else generated 256x256 images. Prints markdown table rows.

    python tools/bench_data.py [--examples 600] [--batch-size 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "facades"


def _rate(ds, examples: int, batch_size: int, warmup: int = 10) -> float:
    """Examples per second over `examples` examples, after `warmup` batches."""
    it = iter(ds)
    for _ in range(warmup):
        next(it)
    steps = max(1, examples // batch_size)
    start = time.perf_counter()
    for _ in range(steps):
        next(it)
    return steps * batch_size / (time.perf_counter() - start)


def albumentations_dataset(spec, config, seed: int = 0):
    """The same default jitter with albumentations (cv2 bicubic resize, crop, flip)."""
    import albumentations as A
    import cv2
    import numpy as np
    import tensorflow as tf

    from translate.data.pipeline import decode

    jitter = A.Compose(
        [A.Resize(config.load_size, config.load_size, interpolation=cv2.INTER_CUBIC),
         A.RandomCrop(config.crop_size, config.crop_size), A.HorizontalFlip()],
        additional_targets={"image_b": "image"}, seed=seed,
    )
    checked = spec.checked("train").domains
    paired = "AB" in checked
    paths = [str(i.path) for i in checked["AB" if paired else "A"]]
    b_paths = [] if paired else [str(i.path) for i in checked["B"]]

    def augment(a, b):
        out = jitter(image=a, image_b=b)
        return (np.clip(out["image"], 0, 1) * 2 - 1).astype(np.float32), (
            np.clip(out["image_b"], 0, 1) * 2 - 1).astype(np.float32)

    def element(index):
        if paired:
            ab = decode(tf.gather(paths, index), 1)
            half = tf.shape(ab)[1] // 2
            a, b = ab[:, :half], ab[:, half:]
        else:
            a = decode(tf.gather(paths, index), 1)
            b = decode(tf.gather(b_paths, index % len(b_paths)), 1)
        a, b = tf.numpy_function(augment, [a, b], [tf.float32, tf.float32])
        size = config.crop_size
        return tf.ensure_shape(a, [size, size, 3]), tf.ensure_shape(b, [size, size, 3])

    n = len(paths)
    ds = tf.data.Dataset.range(n).shuffle(n, seed=seed).repeat()
    ds = ds.map(element, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _sources(tmp: Path):
    from translate.data.sources import folder_spec
    from translate.data.synthetic import generate

    if SHARED.is_dir():
        return [("facades A|B JPEG 512x256 (aligned)", folder_spec(SHARED, "aligned")),
                ("facades 256x256 JPEG (unaligned)", folder_spec(SHARED, "unaligned"))]
    generate("shapes", tmp, size=256, counts={"train": 200})
    return [("generated 256x256 PNG (unaligned)", folder_spec(tmp, "unaligned"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()

    import tensorflow as tf

    from translate.data import DataConfig, make_dataset

    config = DataConfig(batch_size=args.batch_size)  # reference defaults: 286 -> 256, flip
    cores = os.cpu_count()
    print(f"TF {tf.__version__}, {cores} CPU cores, batch {args.batch_size}, "
          f"{args.examples} examples timed", file=sys.stderr)
    print("| data | jitter | examples/s (A,B pairs) | images/s |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec in _sources(Path(tmp)):
            native = make_dataset(spec, "train", config, seed=0, shuffle=True, repeat=True)
            rate = _rate(native, args.examples, args.batch_size)
            print(f"| {label} | native TF (make_dataset) | {rate:.0f} | {2 * rate:.0f} |",
                  flush=True)
            albu = albumentations_dataset(spec, config)
            rate = _rate(albu, args.examples, args.batch_size)
            print(f"| {label} | albumentations via numpy_function | {rate:.0f} | {2 * rate:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
