"""Throughput of `translate apply` end to end vs the bare generator, on the same images; or, with
--formats, of the same generator through each export format's own runtime.

    python tools/bench_apply.py [--netG resnet_9blocks] [--ngf 64] [--sizes 256 1024]
                                [--count 8 2] [--batch-size 1]
    python tools/bench_apply.py --formats keras saved_model onnx tflite --sizes 256 512
                                [--count 8] [--rounds 3]

--formats: photo -> photo functions of one generator (padding and task inside, batch 1):
Keras (a tf.function of the generator), the SavedModel's translate_tensor signature, ONNX
Runtime on the .onnx file, LiteRT on the .tflite file; each format in turn on the same images,
--rounds times interleaved; img/s medians and ranges over rounds.

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


def format_runners(generator, task, multiple: int, formats: list[str], root: Path) -> dict:
    """{format: numpy [1, H, W, 3] -> numpy} for the same generator through each runtime."""
    import keras

    from translate.export import TENSOR_SPEC, make_translate_tensor
    from translate.export_formats import file_runner, write_onnx, write_tflite

    fn = tf.function(make_translate_tensor(generator, task, multiple), input_signature=[TENSOR_SPEC])
    runners = {}
    for fmt in formats:
        if fmt == "keras":
            runners[fmt] = lambda x: fn(tf.constant(x)).numpy()
        elif fmt == "saved_model":
            archive = keras.export.ExportArchive()
            archive.track(generator)
            archive.add_endpoint("translate_tensor", make_translate_tensor(generator, task, multiple),
                                 input_signature=[TENSOR_SPEC])
            archive.write_out(str(root / "saved"), verbose=False)
            loaded = tf.saved_model.load(str(root / "saved"))
            runners[fmt] = lambda x, m=loaded: m.translate_tensor(tf.constant(x)).numpy()
        elif fmt == "onnx":
            write_onnx(generator, task, multiple, root / "g.onnx")
            runners[fmt] = file_runner(root / "g.onnx")
        elif fmt == "tflite":
            write_tflite(generator, task, multiple, root / "g.tflite")
            runners[fmt] = file_runner(root / "g.tflite")
        else:
            raise SystemExit(f"unknown format {fmt}")
    return runners


def bench_formats(args) -> None:
    import statistics

    generator = build_generator(args.netG, ngf=args.ngf, norm=args.norm)
    task = get_task(TaskConfig())
    multiple = generator_size_multiple(args.netG)
    print(f"{args.netG} ngf={args.ngf} norm={args.norm}, batch 1, CPU ({os.cpu_count()} cores, "
          f"{platform.machine()}), {args.rounds} rounds interleaved\n")
    print("| size | " + " | ".join(f"{f} img/s (range)" for f in args.formats) + " |")
    print("|---|" + "---|" * len(args.formats))
    with tempfile.TemporaryDirectory(prefix="bench_formats_") as tmp:
        runners = format_runners(generator, task, multiple, args.formats, Path(tmp))
        for size in args.sizes:
            images = [photo(size, i)[None].astype(np.float32) / 255 for i in range(args.count[0])]
            for run in runners.values():
                run(images[0])  # trace, allocate, warm up
            rates = {f: [] for f in runners}
            for _ in range(args.rounds):
                for fmt, run in runners.items():
                    start = time.perf_counter()
                    for image in images:
                        run(image)
                    rates[fmt].append(len(images) / (time.perf_counter() - start))
            cells = [f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f})" for r in rates.values()]
            print(f"| {size}x{size} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netG", default="resnet_9blocks")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--norm", default="instance")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--count", type=int, nargs="+", default=[8, 2], help="images per size")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--formats", nargs="+",
                        help="keras saved_model onnx tflite: each format's runtime instead")
    parser.add_argument("--rounds", type=int, default=3, help="with --formats: interleaved rounds")
    args = parser.parse_args()
    if args.formats:
        return bench_formats(args)
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
