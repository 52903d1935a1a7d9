"""The reference's checkpoints (`latest_net_G_A.pth`, `horse2zebra.pth`, ...) as a run directory
that `translate apply`, `export`, `evaluate` and `fit --resume` take as they are.

    run_dir = import_checkpoints(["checkpoints/h2z/latest_net_G_A.pth", ".../latest_net_G_B.pth"],
                                 kind="cyclegan")
"""

from __future__ import annotations

import re
from pathlib import Path

from translate.data.config import DIRECTIONS
from translate.errors import UserError
from translate.reference import convert

# `<epoch>_net_<G|D>[_A|_B].pth`, as the reference's save_networks names them
_ROLE = re.compile(r"(?:^|_)net_(?P<net>[GDF])(?:_(?P<side>[AB]))?\.pth$")

KINDS = ("cyclegan", "pix2pix", "cut")  # the reference's models that `translate import` reads


def _two_sided(kind: str) -> bool:
    """Whether the kind has a G and D per domain (G_A, G_B, D_A, D_B, as the reference's file
    names say) rather than one G and one D."""
    from translate.models import model_class

    return len(model_class(kind).directions) == 2


def network_role(path: Path, kind: str, direction: str, single: bool) -> str:
    """Which of our model's networks (G, D, G_A, G_B, D_A, D_B) a checkpoint file holds."""
    match = _ROLE.search(path.name)
    if match is None:
        if not single:
            raise UserError(
                f"{path}: cannot tell which network this is; name the files as the reference "
                "saves them (*_net_G_A.pth, *_net_G_B.pth, *_net_D_A.pth, *_net_G.pth, ...)"
            )
        net, side = "G", None
    else:
        net, side = match["net"], match["side"]
    if net == "F" and kind != "cut":
        raise UserError(f"{path}: only a cut model has an F network (net_F)")
    if not _two_sided(kind):
        if side:
            raise UserError(f"{path}: a {kind} model has one G and one D, not net_{net}_{side}")
        return net
    if side is None:
        if net == "D":
            raise UserError(f"{path}: a cyclegan model has D_A and D_B; name the file *_net_D_A.pth")
        side = "A" if direction == "AtoB" else "B"  # the single generator of the "test" model
    return f"{net}_{side}"


def network_layout(role: str, m) -> dict:
    """convert.load_state_dict/state_dict keywords for our network `role` (G, G_A, D_B, F) of a
    model with options `m`: the reference architecture it has the tensors of."""
    if role == "F":
        return {"name": convert.PATCH_SAMPLER}
    aliasing = {}
    if hasattr(m, "antialias"):  # CUT's networks
        aliasing = {"antialias": m.antialias}
        if role.startswith("G"):
            aliasing["antialias_up"] = m.antialias_up
    if role.startswith("G"):
        return {"name": m.netG, "norm": m.norm, "dropout": m.dropout, **aliasing}
    return {"name": m.netD, "norm": m.norm, "n_layers": m.n_layers_D, **aliasing}


def _shape0(state: dict, key: str) -> int:
    if key not in convert.strip_wrappers(state):
        raise UserError(f"the F checkpoint has no tensor {key}: is it CUT's netF mlp_sample?")
    return tuple(convert.strip_wrappers(state)[key].shape)[0]


def read_state_dict(path: Path) -> dict:
    """A .pth file's {tensor name: tensor}, read without running any pickled code."""
    from translate.reference.oracle import require_torch

    torch = require_torch()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (torch raises many kinds for a bad file)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: not a PyTorch checkpoint that can be read safely ({reason})") \
            from None
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise UserError(
            f"{path}: expected a state dict of tensors (as the reference's save_networks writes)"
        )
    return state


def import_checkpoints(
    paths: list[str | Path],
    kind: str,
    netG: str | None = None,  # noqa: N803 (the reference's option name)
    norm: str | None = None,
    direction: str = "AtoB",
    name: str | None = None,
    project: str = "runs",
    data: str | None = None,
    overrides: dict | None = None,
) -> Path:
    """Read reference checkpoints into a new run directory (runs/<name>-<n>); return it.

    Options not given take the reference's defaults for `kind`. A ResNet generator's dropout is
    read from its tensor names. D files are optional: without them a resumed run starts D anew.
    """
    import tensorflow as tf

    from translate.config import from_dict, merge, save_config
    from translate.models import build_model
    from translate.runs import RunDir, new_run_dir

    if kind not in KINDS:
        raise UserError(f"--model {kind}: choose one of {', '.join(KINDS)}")
    if direction not in DIRECTIONS:
        raise UserError(f"--direction {direction}: choose AtoB or BtoA")
    if not paths:
        raise UserError("give at least one checkpoint (.pth)")
    paths = [Path(p) for p in paths]
    states, roles = {}, {}
    for path in paths:
        role = network_role(path, kind, direction, single=len(paths) == 1)
        if role in states:
            raise UserError(f"{path}: {role} is given twice ({roles[role]} and {path})")
        states[role], roles[role] = read_state_dict(path), path
    if not any(role.startswith("G") for role in states):
        raise UserError("no generator among the checkpoints (*_net_G*.pth): nothing to apply")

    model_options: dict = {}
    if netG:
        model_options["netG"] = netG
    if norm:
        model_options["norm"] = norm
    from translate.models import model_class

    raw = {"model": {"kind": kind, **model_options}}
    generator_name = model_options.get("netG", model_class(kind).Options.netG)
    first_g = next(s for r, s in states.items() if r.startswith("G"))
    if generator_name.startswith("resnet_"):
        raw["model"]["dropout"] = convert.resnet_dropout(first_g)
    if kind == "cut":  # read from the files: anti-aliasing (--no_antialias[_up]) and F's width
        down, up = convert.blur_modules(first_g)
        raw["model"].update(antialias=down, antialias_up=up)
        if "F" in states:
            raw["model"]["netF_nc"] = int(_shape0(states["F"], "mlp_0.0.weight"))
    # A two-sided model translates both ways; a one-sided one was trained from one side.
    raw["data"] = {"direction": "AtoB" if _two_sided(kind) else direction}
    if data:
        raw["data"]["dataset"] = data
    raw["name"] = name or paths[0].resolve().parent.name or "imported"
    raw.setdefault("runtime", {})["project"] = str(project)
    config = from_dict(merge(raw, overrides or {}), "import")
    m = config.model

    model = build_model(m, config.train, steps_per_epoch=1)
    model.compile(config.train)  # optimizer slots, so `fit --resume` finds a complete checkpoint
    networks = model.networks()
    for role, state in states.items():
        convert.load_state_dict(
            networks[role], state, source=str(roles[role]), **network_layout(role, m)
        )

    directions = [d for d in DIRECTIONS if _generator_role(kind, d) in states]
    run_dir = new_run_dir(config.runtime.project, config.name)
    save_config(config, RunDir(run_dir).config)
    import yaml

    from translate.io_utils import atomic_write_text

    atomic_write_text(RunDir(run_dir).imported, yaml.safe_dump({
        "networks": {role: str(path.resolve()) for role, path in roles.items()},
        "directions": directions,
    }, sort_keys=False))
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    tf.train.CheckpointManager(checkpoint, str(RunDir(run_dir).latest), max_to_keep=1).save(0)
    from translate.model_card import write_run_card

    write_run_card(run_dir)
    return run_dir


def _generator_role(kind: str, direction: str) -> str:
    if not _two_sided(kind):
        return "G" if direction == "AtoB" else ""
    return "G_A" if direction == "AtoB" else "G_B"
