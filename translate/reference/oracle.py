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
    """convert.load_state_dict/state_dict keywords for the reference network `name` (G, G_A, D_B)."""
    if name.startswith("G"):
        return {"name": opt.netG, "norm": opt.norm, "dropout": not opt.no_dropout}
    return {"name": opt.netD, "norm": opt.norm, "n_layers": opt.n_layers_D}


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
            theirs.setup(opt)
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

    def our_step(self, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
        """One train_step of ours (compiled, as fit runs it) on the same batch; its losses."""
        import tensorflow as tf

        if not hasattr(self, "_step"):
            self._step = tf.function(self.ours.train_step)
        self.ours.reset_metrics()  # train_step reports running means: one step's values
        with floatx(self.dtype):  # read while tracing
            logs = self._step(tuple(tf.constant(x) for x in self.model_inputs(a, b)))
        return {k: float(v) for k, v in logs.items()}

    def step(self, a: np.ndarray, b: np.ndarray) -> tuple[dict, dict]:
        """(our losses, the reference's losses) after one iteration each on the same batch."""
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
