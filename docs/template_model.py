"""A new model kind in one file: the template of docs/adding-a-model.md.

`regression` trains one generator with L1 alone on paired data (no discriminator): the smallest
model that goes through fit, samples, resume, apply, export and evaluate like the others.
To add a kind: copy this file to translate/models/<kind>.py, rename, and add the class to
MODELS in translate/models/__init__.py. tests/test_models.py trains this one for a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from translate.layers import float_dtype
from translate.losses import l1
from translate.models.base import GANModel, average, paired_sample_rows
from translate.models.options import ModelOptions
from translate.networks import build_generator


@dataclass
class RegressionOptions(ModelOptions):
    """The `model:` section of a regression recipe: the shared options plus this kind's own."""

    kind: str = "regression"
    netG: str = "unet_256"  # noqa: N815
    norm: str = "batch"
    pool_size: int = 0
    lambda_L1: float = 1.0  # noqa: N815

    def ranges(self):
        return {**super().ranges(), "lambda_L1": (self.lambda_L1, 0.0, None, False)}


class Regression(GANModel):
    """G: input -> output, trained to minimise lambda_L1 * |G(input) - target|."""

    kind = "regression"
    Options = RegressionOptions
    directions = ("AtoB",)
    paired = True
    loss_names = ("G_L1",)

    def __init__(self, model_config, train_config=None, steps_per_epoch: int = 1, **kwargs):
        super().__init__(model_config, train_config, steps_per_epoch, **kwargs)
        m = model_config
        self.G = build_generator(
            m.netG, m.input_channels, m.output_channels, norm=m.norm, ngf=m.ngf,
            dropout=m.dropout, init_type=m.init_type, init_gain=m.init_gain,
        )
        self.built = True

    def call(self, inputs, training=False):
        return self.G(inputs, training=training)

    def networks(self):
        return {"G": self.G}

    def optimized_variables(self):
        return {"G": self.G.trainable_variables}

    def generator_for(self, direction: str = "AtoB") -> keras.Model:
        if direction != "AtoB":
            raise ValueError(f"regression has one direction, AtoB (asked for {direction!r})")
        return self.G

    def sample_rows(self, batch, task):
        return paired_sample_rows(self.G, batch, task)  # input | output | target

    def optimize_parameters(self, data):
        real_a, real_b = data
        with tf.GradientTape() as tape:
            fake_b = tf.cast(self.G(real_a, training=True), float_dtype())
            loss = l1(fake_b, tf.cast(real_b, float_dtype())) * self.model_config.lambda_L1
            scaled = self.optimizers["G"].scale_loss(average(loss))
        self.minimize("G", tape, scaled)
        return {"G_L1": tf.reduce_mean(loss)}
