"""CycleGAN and CUT at equal wall clock on the toy of the learning tests (plain -> striped).

    python tools/toy_unpaired.py [--seconds 60] [--rounds 2] [--models cyclegan cut fastcut]
    python tools/toy_unpaired.py --models cut --steps 320 --seeds 0 1 2 --set netD=n_layers ...

Each model (the tests' tiny ResNet-6 with 8 filters, 32x32, batch 2, reference defaults of its
kind) trains in epochs of 16 steps until --seconds of training have passed; then its A -> B
output on 16 held-out plain images is scored by the learning tests' two measures: the share of
horizontal detail at the stripes' period (1.0 for the stripes, ~0 for the input or noise), and
the correlation with the input once the stripes are averaged out (1 for the input, ~0 for
noise or input-blind stripes). Models alternate within a round, so each sees the same machine.
--steps trains a fixed number of steps instead (as the learning tests do), --seeds sets the
models' initial weights (0, the tests' seed, by default), --set KEY=VALUE a model option.
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


def train_for(kind: str, seconds: float, steps: int | None = None, seed: int = 0,
              settings: dict | None = None) -> dict:
    import tensorflow as tf
    from test_models import SIZE, content_kept, make, smooth_images, stripe_share, tiny

    rng = np.random.default_rng(0)
    stripes = np.where(np.arange(SIZE) % 4 < 2, 0.5, -0.5).astype("float32")[None, None, :, None]
    plain = smooth_images(rng, 32) * 0.5
    striped = np.clip(smooth_images(rng, 32) * 0.5 + stripes, -1, 1)
    fields = {"mode": "fastcut"} if kind == "fastcut" else {}
    options = tiny("cut" if kind == "fastcut" else kind, **fields, **(settings or {}))
    model = make(options, seed=seed, steps_per_epoch=16, epochs=steps // 16 if steps else 1000)
    ds = tf.data.Dataset.from_tensor_slices((plain, striped)).shuffle(32, seed=0).batch(2)
    start, epochs = time.perf_counter(), 0
    while (epochs * 16 < steps) if steps else (time.perf_counter() - start < seconds):
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
    parser.add_argument("--steps", type=int, help="train this many steps (a multiple of 16)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        help="a model option, KEY=VALUE")
    args = parser.parse_args()
    import yaml

    settings = {k: yaml.safe_load(v) for k, _, v in (s.partition("=") for s in args.settings)}
    print("| round | seed | model | steps | seconds | stripes (1 = the target's) | content kept |")
    print("|---|---|---|---|---|---|---|")
    for round_ in range(args.rounds):
        for seed in args.seeds:
            for kind in args.models:
                r = train_for(kind, args.seconds, args.steps, seed, settings)
                print(f"| {round_ + 1} | {seed} | {kind} | {r['steps']} | {r['seconds']:.0f} | "
                      f"{r['stripes']:.2f} | {r['content']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
