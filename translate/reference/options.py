"""The reference's command-line options and ours: one table, used by `translate import`, the
equivalence tests and tools/compare_reference.py (and shown in the README)."""

from __future__ import annotations

from collections.abc import Mapping

# reference option -> (our section, our key); flags whose meaning flips are handled below.
OPTIONS: dict[str, tuple[str, str]] = {
    "netG": ("model", "netG"),
    "netD": ("model", "netD"),
    "ngf": ("model", "ngf"),
    "ndf": ("model", "ndf"),
    "n_layers_D": ("model", "n_layers_D"),
    "norm": ("model", "norm"),
    "init_type": ("model", "init_type"),
    "init_gain": ("model", "init_gain"),
    "gan_mode": ("model", "gan_mode"),
    "lambda_L1": ("model", "lambda_L1"),
    "lambda_A": ("model", "lambda_A"),
    "lambda_B": ("model", "lambda_B"),
    "lambda_identity": ("model", "lambda_identity"),
    "pool_size": ("model", "pool_size"),
    "input_nc": ("model", "input_channels"),
    "output_nc": ("model", "output_channels"),
    "lr": ("train", "lr"),
    "beta1": ("train", "beta_1"),
    "n_epochs": ("train", "epochs"),
    "n_epochs_decay": ("train", "epochs_decay"),
    "direction": ("data", "direction"),
    "load_size": ("data", "load_size"),
    "crop_size": ("data", "crop_size"),
    "preprocess": ("data", "preprocess"),
    "batch_size": ("data", "batch_size"),
    "serial_batches": ("data", "serial_batches"),
    # CUT (contrastive-unpaired-translation's cut_model.py and base_options.py)
    "normG": ("model", "norm"),
    "lambda_GAN": ("model", "lambda_GAN"),
    "lambda_NCE": ("model", "lambda_NCE"),
    "nce_idt": ("model", "nce_idt"),
    "nce_layers": ("model", "nce_layers"),
    "nce_includes_all_negatives_from_minibatch": ("model", "nce_includes_all_negatives_from_minibatch"),
    "netF": ("model", "netF"),
    "netF_nc": ("model", "netF_nc"),
    "nce_T": ("model", "nce_T"),
    "num_patches": ("model", "num_patches"),
    "flip_equivariance": ("model", "flip_equivariance"),
}

# reference --model -> our model kind ("test" is the single generator of a CycleGAN)
MODELS = {"cycle_gan": "cyclegan", "pix2pix": "pix2pix", "test": "cyclegan", "cut": "cut"}


def overrides_from_options(opt: Mapping) -> dict:
    """Our config overrides ({section: {key: value}}) for a reference option namespace (vars of
    its parsed options, or any mapping of the option names above)."""
    out: dict = {}
    for name, (section, key) in OPTIONS.items():
        if name in opt:
            out.setdefault(section, {})[key] = opt[name]
    if "no_dropout" in opt:
        out.setdefault("model", {})["dropout"] = not opt["no_dropout"]
    if "no_flip" in opt:
        out.setdefault("data", {})["flip"] = not opt["no_flip"]
    if "model" in opt:
        out.setdefault("model", {})["kind"] = MODELS[opt["model"]]
    if "CUT_mode" in opt:
        out.setdefault("model", {})["mode"] = str(opt["CUT_mode"]).lower()
    for flag, key in (("no_antialias", "antialias"), ("no_antialias_up", "antialias_up")):
        if flag in opt:
            out.setdefault("model", {})[key] = not opt[flag]
    return out
