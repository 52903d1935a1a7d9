"""A checkout of the PyTorch reference, loaded as a test oracle, and our model beside it.

For tests and tools (tools/compare_reference.py): it imports the reference's own modules from
the checkout the caller names; nothing of its code lives here. Needs torch (`[torch]` extra).

    pair = ReferencePair.create(REF_DIR, ["--model", "pix2pix", "--direction", "BtoA"], workdir)
    ours, theirs = pair.step(a, b)        # one optimize_parameters() / train_step each
    pair.weight_differences()             # {tensor name: max |ours - theirs|}
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from translate.reference import convert
from translate.reference.options import overrides_from_options

_TOP_LEVEL = ("models", "options", "data", "util")


@contextlib.contextmanager
def floatx(dtype: str):
    """Keras's default float type and dtype policy set to `dtype` inside the block (float64:
    beyond rounding). The policy too: once set (e.g. by an earlier fit), it overrides floatx."""
    import keras

    saved, saved_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(saved)
        keras.config.set_dtype_policy(saved_policy)


def require_torch():
    """torch, or a one-line UserError naming the extra."""
    try:
        import torch
    except ImportError:
        from translate.errors import UserError

        raise UserError(
            "reading PyTorch checkpoints needs torch: pip install 'image-translate[torch]'"
        ) from None
    return torch


def load_reference(ref_dir: str | Path) -> types.SimpleNamespace:
    """The reference's `models` and `options` packages imported from `ref_dir`.

    Its top-level package names (models, options, data, util) are generic: modules of those
    names loaded from elsewhere are dropped first. torchvision, which only its dataset code
    uses, is stubbed when absent.
    """
    ref_dir = Path(ref_dir).resolve()
    if not (ref_dir / "models" / "networks.py").is_file():
        from translate.errors import UserError

        raise UserError(f"{ref_dir} is not a pytorch-CycleGAN-and-pix2pix checkout (no models/)")
    require_torch()
    try:
        import torchvision  # noqa: F401
    except ImportError:
        stub = types.ModuleType("torchvision")
        stub.transforms = types.ModuleType("torchvision.transforms")
        sys.modules.update({"torchvision": stub, "torchvision.transforms": stub.transforms})
    for name in list(sys.modules):
        module = sys.modules[name]
        if name.split(".")[0] in _TOP_LEVEL and not str(getattr(module, "__file__", "") or "") \
                .startswith(str(ref_dir)):
            del sys.modules[name]
    if str(ref_dir) not in sys.path:
        sys.path.insert(0, str(ref_dir))
    import models
    import models.networks
    import options.train_options
    import util.util

    return types.SimpleNamespace(
        path=ref_dir, models=models, networks=models.networks, options=options.train_options,
        util=util.util,
    )


def reference_options(ref, argv: list[str], workdir: str | Path):
    """The reference's TrainOptions parsed from `argv` (CPU, checkpoints under workdir)."""
    saved = sys.argv
    sys.argv = ["train.py", "--dataroot", str(workdir), "--gpu_ids", "-1",
                "--checkpoints_dir", str(Path(workdir) / "checkpoints"), *argv]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return ref.options.TrainOptions().parse()
    finally:
        sys.argv = saved


def network_layout(opt, name: str) -> dict:
    """convert.load_state_dict/state_dict keywords for the reference network `name` (G, G_A,
    D_B; CUT's G, D and F, with its normG/normD and anti-aliasing)."""
    if name == "F":
        return {"name": convert.PATCH_SAMPLER}
    cut = hasattr(opt, "no_antialias")
    antialias = {"antialias": not opt.no_antialias} if cut else {}
    if name.startswith("G"):
        if cut:
            antialias["antialias_up"] = not opt.no_antialias_up
        norm = opt.normG if cut else opt.norm
        return {"name": opt.netG, "norm": norm, "dropout": not opt.no_dropout, **antialias}
    norm = opt.normD if cut else opt.norm
    return {"name": opt.netD, "norm": norm, "n_layers": opt.n_layers_D, **antialias}


def contiguous_feature_gradients(generator) -> None:
    """Make the gradients that reach a CUT reference generator's encoder features contiguous.

    PyTorch 2.13's CPU InstanceNorm2d backward is wrong at batch size 1 when the gradient it
    receives is channels-last (measured: up to 7 absolute against a finite difference), and the
    reference's PatchSampleF (permute, flatten, index) sends exactly such gradients back into
    the features taken at residual-block outputs (layers 12 and 16), whose next op backwards is
    an instance norm. Contiguous, the same maths runs through the correct kernel path.
    """
    forward = generator.forward

    def forward_with_hooks(input, layers=(), encode_only=False):
        out = forward(input, list(layers), encode_only)
        feats = out if encode_only else (out[1] if layers else [])
        for feat in feats:
            if feat.requires_grad:
                feat.register_hook(lambda grad: grad.contiguous())
        return out

    generator.forward = forward_with_hooks


@contextlib.contextmanager
def recorded_draws():
    """The numpy draws the CUT reference makes in one iteration, recorded as it makes them:
    the patch positions of each PatchSampleF call (np.random.permutation) and FastCUT's flip
    (np.random.random), so our step can replay them."""
    draws = {"permutations": [], "randoms": []}
    permutation, random = np.random.permutation, np.random.random

    def record_permutation(n):
        out = permutation(n)
        draws["permutations"].append(out)
        return out

    def record_random(*args):
        out = random(*args)
        draws["randoms"].append(out)
        return out

    np.random.permutation, np.random.random = record_permutation, record_random
    try:
        yield draws
    finally:
        np.random.permutation, np.random.random = permutation, random


def to_nchw(images: np.ndarray):
    """NHWC numpy in [-1, 1] -> the reference's NCHW torch tensor."""
    torch = require_torch()
    return torch.from_numpy(np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2))))


@dataclass
class ReferencePair:
    """The reference's model and ours, built from the same options, with the same weights."""

    opt: object
    theirs: object
    ours: object
    dtype: str = "float32"

    @classmethod
    def create(cls, ref_dir, argv: list[str], workdir, steps_per_epoch: int = 1, seed: int = 0,
               dtype: str = "float32"):
        """Build the reference model as its train.py does (create_model + setup), then ours
        from the same options, and copy every network's weights from theirs to ours.

        dtype "float64" runs both in double precision: float32's rounding makes Adam's first,
        sign-like step (lr * g / |g|) flip for the 0.1-0.5% of weights whose gradient is near
        zero, in either framework; in float64 only differences in the maths remain.
        """
        torch = require_torch()
        import keras

        from translate.config import from_dict
        from translate.models import build_model

        ref = load_reference(ref_dir)
        opt = reference_options(ref, argv, workdir)
        torch.manual_seed(seed)
        with contextlib.redirect_stdout(io.StringIO()):
            theirs = ref.models.create_model(opt)
            if hasattr(theirs, "data_dependent_initialize"):  # CUT: F is made on a first batch
                first = np.random.uniform(-1, 1, (opt.batch_size, 3, opt.crop_size, opt.crop_size))
                first = torch.from_numpy(first.astype(np.float32))
                theirs.data_dependent_initialize({"A": first, "B": first, "A_paths": ["a"],
                                                  "B_paths": ["b"]})
            theirs.setup(opt)
        if hasattr(theirs, "data_dependent_initialize"):
            contiguous_feature_gradients(theirs.netG)
        overrides = overrides_from_options(vars(opt))
        config = from_dict(overrides)
        keras.utils.set_random_seed(seed)
        with floatx(dtype):
            ours = build_model(config.model, config.train, steps_per_epoch=steps_per_epoch)
            ours.compile(config.train)
        if dtype == "float64":
            for name in theirs.model_names:
                getattr(theirs, f"net{name}").double()  # in place: the optimizers keep them
            theirs.criterionGAN.double()  # its target-label buffers
            if hasattr(theirs, "criterionNCE"):
                theirs.criterionNCE = [c.double() for c in theirs.criterionNCE]
        pair = cls(opt=opt, theirs=theirs, ours=ours, dtype=dtype)
        for name, network in ours.networks().items():
            convert.load_state_dict(
                network, getattr(theirs, f"net{name}").state_dict(),
                source=f"reference net{name}", **network_layout(opt, name),
            )
        return pair

    def model_inputs(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Our (input, target) batch for the reference's A and B: its set_input swaps them
        for --direction BtoA, our data pipeline does."""
        a, b = a.astype(self.dtype), b.astype(self.dtype)
        return (a, b) if self.opt.direction == "AtoB" else (b, a)

    def reference_step(self, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
        """One optimize_parameters() of the reference on NHWC batches; its reported losses."""
        n = len(a)
        a, b = a.astype(self.dtype), b.astype(self.dtype)
        self.theirs.set_input({"A": to_nchw(a), "B": to_nchw(b),
                               "A_paths": [f"a{i}" for i in range(n)],
                               "B_paths": [f"b{i}" for i in range(n)]})
        self.theirs.optimize_parameters()
        return {k: float(v) for k, v in self.theirs.get_current_losses().items()}

    def our_step(self, a: np.ndarray, b: np.ndarray, draws: dict | None = None) -> dict[str, float]:
        """One train_step of ours (compiled, as fit runs it) on the same batch; its losses.

        draws: the reference's random draws of the same iteration (recorded_draws), which a
        CUT step replays: its patch positions and flip."""
        import tensorflow as tf

        inputs = tuple(tf.constant(x) for x in self.model_inputs(a, b))
        if draws is not None:
            return self._replayed_step(inputs, draws)
        if not hasattr(self, "_step"):
            self._step = tf.function(self.ours.train_step)
        self.ours.reset_metrics()  # train_step reports running means: one step's values
        with floatx(self.dtype):  # read while tracing
            logs = self._step(inputs)
        return {k: float(v) for k, v in logs.items()}

    def _replayed_step(self, inputs, draws: dict) -> dict[str, float]:
        import tensorflow as tf

        if not hasattr(self, "_replay"):
            self._replay = tf.function(
                lambda data, ids, flip: self.ours.optimize_parameters(data, ids, flip)
            )
        layers = len(self.ours.nce_layers)
        cut = [p[: min(self.opt.num_patches, len(p))] for p in draws["permutations"]]
        ids = [[tf.constant(x, tf.int32) for x in cut[i:i + layers]]
               for i in range(0, len(cut), layers)]
        ids += [[tf.zeros([1], tf.int32)] * layers] * (2 - len(ids))  # no identity NCE: unused
        flip = bool(draws["randoms"] and draws["randoms"][0] < 0.5)
        with floatx(self.dtype):
            losses = self._replay(inputs, ids, tf.constant(flip))
        return {k: float(v) for k, v in losses.items()}

    def step(self, a: np.ndarray, b: np.ndarray) -> tuple[dict, dict]:
        """(our losses, the reference's losses) after one iteration each on the same batch."""
        if self.opt.model == "cut":
            with recorded_draws() as draws:
                theirs = self.reference_step(a, b)
            return self.our_step(a, b, draws), theirs
        return self.our_step(a, b), self.reference_step(a, b)

    def weight_differences(self) -> dict[str, float]:
        """max |ours - theirs| per tensor, named `net<name>.<reference tensor name>`."""
        out = {}
        for name, network in self.ours.networks().items():
            mine = convert.state_dict(network, **network_layout(self.opt, name))
            for key, value in getattr(self.theirs, f"net{name}").state_dict().items():
                if key in mine and value.dtype.is_floating_point:
                    diff = np.abs(mine[key] - value.double().numpy())
                    out[f"net{name}.{key}"] = float(np.max(diff))
        return out
