"""Throughput of `translate apply` end to end vs the bare generator, on the same images.

    python tools/bench_apply.py [--netG resnet_9blocks] [--ngf 64] [--sizes 256 1024]
                                [--count 8 2] [--batch-size 1]

For each size: writes `count` PNG photos to a temporary folder, then times
    bare        generator(x, training=False) in a tf.function on the decoded tensors (in memory)
    end to end  apply_folder: read + decode, pad, task, generator, crop, encode PNG, atomic write
Bare runs before and after the end-to-end run and is averaged, to even out machine drift.
Prints a Markdown table (images/s and the ratio end to end / bare; the goal is >= 95%).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from translate.apply import Translator, apply_folder  # noqa: E402
from translate.data.imageio import read_image, write_image_atomic  # noqa: E402
from translate.networks import build_generator, generator_size_multiple  # noqa: E402
from translate.tasks import TaskConfig, get_task  # noqa: E402


def photo(size: int, seed: int) -> np.ndarray:
    coarse = np.random.default_rng(seed).random((1, size // 16 + 2, size // 16 + 2, 3))
    image = tf.image.resize(coarse, (size, size), "bicubic").numpy()[0]
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def bare_rate(forward, tensors: list[np.ndarray], batch_size: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(tensors), batch_size):
        forward(tf.constant(np.stack(tensors[i : i + batch_size]))).numpy()
    return len(tensors) / (time.perf_counter() - start)


def bench_size(generator, translator, size: int, count: int, batch_size: int, root: Path) -> dict:
    folder = root / f"in{size}"
    for i in range(count):
        write_image_atomic(folder / f"{i:04d}.png", photo(size, i))
    task = translator.task
    tensors = [
        task.to_model(read_image(p).astype(np.float32) / 255.0).numpy()
        for p in sorted(folder.glob("*.png"))
    ]
    forward = tf.function(lambda x: generator(x, training=False), reduce_retracing=True)
    bare_rate(forward, tensors[:batch_size], batch_size)  # trace and warm up
    translator.translate_batch(np.stack([t * 0.5 + 0.5 for t in tensors[:batch_size]]))
    before = bare_rate(forward, tensors, batch_size)
    summary = apply_folder(translator, folder, root / f"out{size}", overwrite=True, progress=False)
    assert summary.done == count and not summary.failed, summary
    end_to_end = count / summary.seconds
    after = bare_rate(forward, tensors, batch_size)
    bare = (before + after) / 2
    return {
        "size": size,
        "count": count,
        "bare": bare,
        "e2e": end_to_end,
        "ratio": end_to_end / bare,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netG", default="resnet_9blocks")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--norm", default="instance")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--count", type=int, nargs="+", default=[8, 2], help="images per size")
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()
    counts = args.count + [args.count[-1]] * (len(args.sizes) - len(args.count))

    generator = build_generator(args.netG, ngf=args.ngf, norm=args.norm)
    task = get_task(TaskConfig())

    def forward(batch):
        return generator(batch, training=False)

    translator = Translator(
        forward, task, generator_size_multiple(args.netG), batch_size=args.batch_size
    )
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU" if gpus else f"CPU ({os.cpu_count()} cores, {platform.machine()})"
    print(f"{args.netG} ngf={args.ngf} norm={args.norm} batch={args.batch_size} on {device}\n")
    print("| size | images | bare forward img/s | apply end to end img/s | ratio |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench_apply_") as tmp:
        for size, count in zip(args.sizes, counts, strict=True):
            r = bench_size(generator, translator, size, count, args.batch_size, Path(tmp))
            print(
                f"| {r['size']}x{r['size']} | {r['count']} | {r['bare']:.3f} | {r['e2e']:.3f} "
                f"| {100 * r['ratio']:.1f}% |",
                flush=True,
            )


if __name__ == "__main__":
    main()
