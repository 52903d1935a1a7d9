"""Seconds per training step of Keras `fit` on one device: TF's default strategy (what
`translate fit` uses) against `OneDeviceStrategy` (what it used before), each in a process of its
own (one strategy in a process slowed the other's steps when both lived in one), alternating, so
the ratio is measured under the same machine load.

    python tools/bench_strategy.py --recipe superres-x4 --data ../shared/data/sr291
    python tools/bench_strategy.py --recipe facades --data ../shared/data/facades --steps 10

Each round fits `--steps` steps of the recipe's real input pipeline under each strategy (after a
warm-up fit that traces), in alternating order; the time includes neither startup nor tracing. Prints one line per measurement and the range of
the ratios. Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def measure(recipe: str, data: str, strategy_name: str, steps: int) -> float:
    """Seconds per step of `fit` under one strategy, in this process."""
    import tensorflow as tf

    from translate.config import parse_set, resolve_config
    from translate.data import resolve_dataset
    from translate.models import build_model, model_class
    from translate.tasks import get_task
    from translate.training import _train_dataset, count_steps_per_epoch

    strategy = {
        "default": tf.distribute.get_strategy,
        "one-device": lambda: tf.distribute.OneDeviceStrategy("/cpu:0"),
    }[strategy_name]()
    config = resolve_config(recipe=recipe, overrides=parse_set([f"data.dataset={data}"]))
    task = get_task(config.task)
    paired = model_class(config.model.kind).paired and not task.makes_own_pairs
    spec = resolve_dataset(config.data.dataset, layout=config.data.layout, paired=paired)
    steps_per_epoch = count_steps_per_epoch(spec, config)
    with strategy.scope():
        model = build_model(config.model, config.train, steps_per_epoch, scale=task.scale)
        model.compile(train_config=config.train)
    data = _train_dataset(spec, config, task, 0, 0, steps_per_epoch).repeat()
    model.fit(data, epochs=1, steps_per_epoch=3, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="superres-x4")
    parser.add_argument("--data", default="../shared/data/sr291")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", help=argparse.SUPPRESS)  # a child process: one measurement
    args = parser.parse_args()
    if args.only:
        print(measure(args.recipe, args.data, args.only, args.steps))
        return

    names = ("default", "one-device")
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names[:: 1 if r % 2 == 0 else -1]:
            out = subprocess.run(
                [sys.executable, __file__, "--recipe", args.recipe, "--data", args.data,
                 "--steps", str(args.steps), "--only", name],
                check=True, capture_output=True, text=True,
            ).stdout
            seconds[name].append(float(out.strip().splitlines()[-1]))
            print(f"round {r + 1}  {name:<10} {seconds[name][-1]:.3f} s/step", flush=True)
    ratios = [o / d for o, d in zip(seconds["one-device"], seconds["default"], strict=True)]
    print(
        f"{args.recipe}: one-device / default = {min(ratios):.2f}-{max(ratios):.2f} "
        f"over {args.rounds} rounds of {args.steps} steps"
    )


if __name__ == "__main__":
    main()
