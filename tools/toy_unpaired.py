"""CycleGAN and CUT at equal wall clock on the toy of the learning tests (plain -> striped).

    python tools/toy_unpaired.py [--seconds 60] [--rounds 2] [--models cyclegan cut fastcut]

Each model (the tests' tiny ResNet-6 with 8 filters, 32x32, batch 2, reference defaults of its
kind) trains in epochs of 16 steps until --seconds of training have passed; then its A -> B
output on 16 held-out plain images is scored by the learning tests' two measures: the share of
horizontal detail at the stripes' period (1.0 for the stripes, ~0 for the input or noise), and
the correlation with the input once the stripes are averaged out (1 for the input, ~0 for
noise or input-blind stripes). Models alternate within a round, so each sees the same machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def destriped(x):
    """A 4-px horizontal box: the stripes' period averages to 0."""
    return sum(np.roll(x, k, axis=2) for k in range(4)) / 4


def train_for(kind: str, seconds: float) -> dict:
    import tensorflow as tf
    from test_models import SIZE, content_kept, make, smooth_images, stripe_share, tiny

    rng = np.random.default_rng(0)
    stripes = np.where(np.arange(SIZE) % 4 < 2, 0.5, -0.5).astype("float32")[None, None, :, None]
    plain = smooth_images(rng, 32) * 0.5
    striped = np.clip(smooth_images(rng, 32) * 0.5 + stripes, -1, 1)
    options = tiny("cut", mode="fastcut") if kind == "fastcut" else tiny(kind)
    model = make(options, steps_per_epoch=16, epochs=1000)
    ds = tf.data.Dataset.from_tensor_slices((plain, striped)).shuffle(32, seed=0).batch(2)
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        model.fit(ds, epochs=epochs + 1, initial_epoch=epochs, verbose=0)
        epochs += 1
    test = smooth_images(np.random.default_rng(1), 16) * 0.5
    out = model.generator_for("AtoB")(test).numpy()
    return {"model": kind, "steps": epochs * 16, "seconds": time.perf_counter() - start,
            "stripes": stripe_share(out), "content": content_kept(destriped(out), destriped(test))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["cyclegan", "cut", "fastcut"])
    args = parser.parse_args()
    print("| round | model | steps | seconds | stripes (1 = the target's) | content kept |")
    print("|---|---|---|---|---|---|")
    for round_ in range(args.rounds):
        for kind in args.models:
            r = train_for(kind, args.seconds)
            print(f"| {round_ + 1} | {kind} | {r['steps']} | {r['seconds']:.0f} | "
                  f"{r['stripes']:.2f} | {r['content']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
