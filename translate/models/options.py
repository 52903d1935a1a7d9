"""The options every model kind shares: its networks, their init and the adversarial loss.

A model kind subclasses `ModelOptions` with its own losses' weights and its reference defaults
(see Pix2PixOptions, CycleGANOptions); the `model:` section of a recipe is one such dataclass.
Defaults here are the reference's base_options.py (what CycleGAN trains with).
"""

from __future__ import annotations

from dataclasses import dataclass

from translate.layers import NORMS
from translate.losses import GAN_MODES
from translate.networks.init import INIT_TYPES

# sync_batch is runtime.sync_batch_norm's business (it depends on the replicas), not an option.
NORM_OPTIONS = tuple(n for n in NORMS if n != "sync_batch")


@dataclass
class ModelOptions:
    kind: str = ""  # set by each kind's options class
    netG: str = "resnet_9blocks"  # noqa: N815 (the reference's option name)
    netD: str = "basic"  # noqa: N815
    ngf: int = 64
    ndf: int = 64
    n_layers_D: int = 3  # noqa: N815
    norm: str = "instance"
    dropout: bool = False
    init_type: str = "normal"
    init_gain: float = 0.02
    gan_mode: str = "lsgan"
    lambda_gp: float = 10.0  # wgangp gradient penalty weight
    pool_size: int = 50  # history of generated images per D; 0 disables it
    input_channels: int = 3
    output_channels: int = 3

    def choices(self) -> dict[str, tuple]:
        """Options with a fixed set of values: name -> (value, valid values)."""
        from translate.networks import DISCRIMINATORS, GENERATORS

        return {
            "netG": (self.netG, tuple(GENERATORS)),
            "netD": (self.netD, tuple(DISCRIMINATORS)),
            "norm": (self.norm, NORM_OPTIONS),
            "gan_mode": (self.gan_mode, GAN_MODES),
            "init_type": (self.init_type, INIT_TYPES),
        }

    def ranges(self) -> dict[str, tuple]:
        """Numeric options: name -> (value, lowest, highest or None[, lowest allowed])."""
        return {
            "ngf": (self.ngf, 1, None),
            "ndf": (self.ndf, 1, None),
            "n_layers_D": (self.n_layers_D, 1, None),
            "init_gain": (self.init_gain, 0.0, None),
            "lambda_gp": (self.lambda_gp, 0.0, None),
            "pool_size": (self.pool_size, 0, None),
            "input_channels": (self.input_channels, 1, None),
            "output_channels": (self.output_channels, 1, None),
        }

    def check(self) -> str | None:
        """A problem across options that the kind alone can judge, or None."""
        return None
