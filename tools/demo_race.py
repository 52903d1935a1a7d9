"""The demo recipes side by side: CycleGAN (`demo`) and CUT (`demo-cut`) on the generated shapes.

    python tools/demo_race.py [--recipes demo demo-cut] [--seeds 0 1] [--set KEY=VALUE ...]

Each recipe is fitted through the CLI as a user runs it (`translate fit --recipe R --seed S`),
its wall clock taken, then its A -> B outputs on the 20 held-out plain shapes are scored by the
demo test's two measures (tests/demo_scores.py): the share of detail at the stripes' period
(0.32-0.58 for the striped targets, 0 for the plain inputs) and the agreement of each output's
hue with its shape's (1 = kept, ~0 for one colour for all). Recipes alternate within a seed, so
each sees the same machine. --set KEY=VALUE overrides every recipe; --set RECIPE:KEY=VALUE one
(e.g. `--set demo-cut:train.epochs=6 --set demo-cut:train.epochs_decay=4`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def translate(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "translate.cli", *args], cwd=cwd,
                          capture_output=True, text=True)


def for_recipe(override: str, recipe: str) -> str | None:
    """KEY=VALUE for every recipe, RECIPE:KEY=VALUE for that one only; None if not for it."""
    target, sep, _ = override.partition("=")[0].partition(":")
    if not sep:
        return override
    return override.split(":", 1)[1] if target == recipe else None


def race(recipe: str, seed: int, overrides: list[str], workdir: Path) -> dict:
    from demo_scores import score_translations

    from translate.data.cards import cache_dir

    name = f"{recipe}-seed{seed}" + ("-set" if overrides else "")
    sets = [arg for o in overrides if (setting := for_recipe(o, recipe))
            for arg in ("--set", setting)]
    start = time.perf_counter()
    fit = translate("fit", "--recipe", recipe, "--seed", str(seed), "--name", name, "--quiet",
                    *sets, cwd=workdir)
    seconds = time.perf_counter() - start
    if fit.returncode != 0:
        raise SystemExit(f"{name}: fit failed: {fit.stderr.strip().splitlines()[-1]}")
    plain = cache_dir() / "datasets" / "shapes" / "testA"
    applied = translate("apply", f"runs/{name}-1", str(plain), f"out/{name}", "--quiet",
                        cwd=workdir)
    if applied.returncode != 0:
        raise SystemExit(f"{name}: apply failed: {applied.stderr.strip()}")
    return {"seconds": seconds, **score_translations(plain, workdir / "out" / name)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["demo", "demo-cut"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    print("| seed | recipe | fit wall clock (s) | stripes | colour kept |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="demo-race-") as tmp:
        for seed in args.seeds:
            for recipe in args.recipes:
                r = race(recipe, seed, args.overrides, Path(tmp))
                print(f"| {seed} | {recipe} | {r['seconds']:.0f} | {r['stripes']:.2f} | "
                      f"{r['colour']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
