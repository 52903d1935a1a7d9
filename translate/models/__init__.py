"""The model kinds, as keras.Model subclasses: compile() sets the optimizers, fit() trains.

    model = build_model(config.model, config.train, steps_per_epoch=400)
    model.compile(jit_compile=True)
    model.fit(dataset_of_A_B_pairs, epochs=200)

MODELS is the one list of kinds: a new kind is its own module (a GANModel subclass with its
Options dataclass) plus one entry here. docs/adding-a-model.md walks through one.
"""

from __future__ import annotations

from translate.models.base import GANModel
from translate.models.cut import CUT, CUTOptions
from translate.models.cyclegan import CycleGAN, CycleGANOptions
from translate.models.options import ModelOptions
from translate.models.pix2pix import Pix2Pix, Pix2PixOptions
from translate.models.pool import ImagePool
from translate.models.schedule import ConstantThenLinearDecay

MODELS: dict[str, type[GANModel]] = {model.kind: model for model in (CycleGAN, Pix2Pix, CUT)}
DEFAULT_KIND = CycleGAN.kind  # what a recipe without model.kind trains, as the reference


def model_class(kind: str) -> type[GANModel]:
    """The model class of a kind name, or a one-line error listing the kinds."""
    from translate.errors import UserError

    if kind not in MODELS:
        raise UserError(f"unknown model kind {kind!r}; choose one of {', '.join(MODELS)}")
    return MODELS[kind]


def build_model(model_config, train_config=None, steps_per_epoch: int = 1, scale: int = 1) -> GANModel:
    """The model of `model_config.kind`, its networks built (call inside a strategy's scope).

    scale: output size / input size of a super-resolution generator (the task's scale).
    """
    return model_class(model_config.kind)(model_config, train_config, steps_per_epoch, scale=scale)


__all__ = [
    "CUT",
    "CUTOptions",
    "DEFAULT_KIND",
    "MODELS",
    "ConstantThenLinearDecay",
    "CycleGAN",
    "CycleGANOptions",
    "GANModel",
    "ImagePool",
    "ModelOptions",
    "Pix2Pix",
    "Pix2PixOptions",
    "build_model",
    "model_class",
]
