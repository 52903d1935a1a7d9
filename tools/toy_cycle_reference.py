"""Our CycleGAN and the PyTorch reference learning the toy's cycle side by side, per seed.

    python tools/toy_cycle_reference.py [--seeds 1 2 3 4] [--steps 768] [--every 128]

For each seed: the reference's CycleGAN is built as its train.py does (tiny ResNet-6 with 8
filters, 32x32, batch 2, its defaults otherwise: lr 2e-4, lsgan, identity 0.5, pool 50), ours
from the same options with its weights copied, and both train on the same batches of the
learning tests' toy (plain smooth fields -> the same with 4-px stripes). Printed every --every
steps, for each: the share of the A -> B output's horizontal detail at the stripes' period, and
the reconstruction's correlation with the input (A -> B -> A; ~0 when the cycle is not learned).
In float32 the two runs drift apart after some dozens of steps (a GAN amplifies rounding), so
compare the curves across seeds, not the single numbers (--dtype float64 keeps them together
longer). Needs torch and ../shared/reference.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
REF_DIR = REPO.parent / "shared" / "reference" / "pytorch-CycleGAN-and-pix2pix"


def toy():
    from test_models import SIZE, smooth_images

    rng = np.random.default_rng(0)
    stripes = np.where(np.arange(SIZE) % 4 < 2, 0.5, -0.5).astype("float32")[None, None, :, None]
    plain = smooth_images(rng, 32) * 0.5
    striped = np.clip(smooth_images(rng, 32) * 0.5 + stripes, -1, 1)
    return plain, striped, smooth_images(np.random.default_rng(1), 16) * 0.5


def scores(pair, test) -> dict[str, tuple[float, float]]:
    """{"ours" | "reference": (stripe share of A -> B, cycle correlation)}."""
    import torch
    from test_models import content_kept, stripe_share

    from translate.reference.oracle import to_nchw

    ours_b = pair.ours.generator_for("AtoB")(test)
    ours_back = pair.ours.generator_for("BtoA")(ours_b)
    with torch.no_grad():
        theirs_b = pair.theirs.netG_A(to_nchw(test))
        theirs_back = pair.theirs.netG_B(theirs_b)
    nhwc = lambda t: t.permute(0, 2, 3, 1).numpy()  # noqa: E731
    return {"ours": (stripe_share(ours_b), content_kept(ours_back, test)),
            "reference": (stripe_share(nhwc(theirs_b)), content_kept(nhwc(theirs_back), test))}


def run_seed(seed: int, steps: int, every: int, dtype: str, pool_size: int) -> None:
    from test_models import SIZE

    from translate.reference.oracle import ReferencePair

    argv = ["--model", "cycle_gan", "--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8",
            "--crop_size", str(SIZE), "--load_size", str(SIZE), "--batch_size", "2",
            "--pool_size", str(pool_size)]
    random.seed(seed)  # the reference's image pool draws from Python's random
    with tempfile.TemporaryDirectory() as work:
        pair = ReferencePair.create(REF_DIR, argv, work, steps_per_epoch=16, seed=seed,
                                   dtype=dtype)
        plain, striped, test = (x.astype(dtype) for x in toy())
        order = np.random.default_rng(seed)
        for step in range(1, steps + 1):
            a, b = order.permutation(len(plain))[:2], order.permutation(len(striped))[:2]
            pair.step(plain[a], striped[b])
            if step % every == 0:
                for who, (stripes, cycle) in scores(pair, test).items():
                    print(f"| {seed} | {step} | {who} | {stripes:.2f} | {cycle:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=768)
    parser.add_argument("--every", type=int, default=128)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--pool-size", type=int, default=50, help="the reference's default: 50")
    args = parser.parse_args()
    if not (REF_DIR / "models" / "networks.py").is_file():
        sys.exit(f"the reference checkout is absent ({REF_DIR})")
    print("| seed | step | model | stripes (1 = the target's) | cycle: correlation with the input |")
    print("|---|---|---|---|---|")
    for seed in args.seeds:
        run_seed(seed, args.steps, args.every, args.dtype, args.pool_size)


if __name__ == "__main__":
    main()
