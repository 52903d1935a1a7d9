"""Pix2Pix and CycleGAN as keras.Model subclasses: compile() sets the optimizers, fit() trains.

    model = build_model(config.model, config.train, steps_per_epoch=400)
    model.compile(jit_compile=True)
    model.fit(dataset_of_A_B_pairs, epochs=200)
"""

from __future__ import annotations

from translate.models.base import GANModel
from translate.models.cyclegan import CycleGAN
from translate.models.pix2pix import Pix2Pix
from translate.models.pool import ImagePool
from translate.models.schedule import ConstantThenLinearDecay

MODELS = {"pix2pix": Pix2Pix, "cyclegan": CycleGAN}


def build_model(
    model_config, train_config=None, steps_per_epoch: int = 1, scale: int = 1
) -> Pix2Pix | CycleGAN:
    """The model of `model_config.kind`, its networks built (call inside a strategy's scope).

    scale: output size / input size of a super-resolution generator (the task's scale).
    """
    if model_config.kind not in MODELS:
        raise ValueError(
            f"unknown model kind {model_config.kind!r}; choose one of {', '.join(MODELS)}"
        )
    if model_config.kind == "pix2pix":
        return Pix2Pix(model_config, train_config, steps_per_epoch, scale=scale)
    return MODELS[model_config.kind](model_config, train_config, steps_per_epoch)


__all__ = [
    "MODELS",
    "ConstantThenLinearDecay",
    "CycleGAN",
    "GANModel",
    "ImagePool",
    "Pix2Pix",
    "build_model",
]
