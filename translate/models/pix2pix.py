"""Pix2Pix (Isola et al. 2017): a conditional GAN with an L1 term, as the reference trains it."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from translate.layers import float_dtype
from translate.losses import gradient_penalty, l1
from translate.models.base import GANModel, average, paired_sample_rows, resize_like
from translate.models.options import ModelOptions
from translate.models.pool import ImagePool
from translate.networks import SR_GENERATORS, build_discriminator, build_generator


@dataclass
class Pix2PixOptions(ModelOptions):
    """The reference's pix2pix defaults (pix2pix_model.py's modify_commandline_options)."""

    kind: str = "pix2pix"
    netG: str = "unet_256"  # noqa: N815
    norm: str = "batch"
    dropout: bool = True
    gan_mode: str = "vanilla"
    pool_size: int = 0
    lambda_L1: float = 100.0  # noqa: N815  reconstruction weight
    lambda_gan: float = 1.0  # adversarial weight; 0: L1 only (super-resolution PSNR stage)

    def ranges(self):
        return {
            **super().ranges(),
            "lambda_L1": (self.lambda_L1, 0.0, None),
            "lambda_gan": (self.lambda_gan, 0.0, None),
        }


class Pix2Pix(GANModel):
    """G: input -> output; D judges (input, output) pairs. call() is G, for inference.

    The generator may change size (super-resolution) and channels (colorization 1 -> 2): D sees
    the input resized (bicubic) to the output's size, concatenated with the output.
    """

    kind = "pix2pix"
    Options = Pix2PixOptions
    directions = ("AtoB",)
    paired = True
    loss_names = ("G_GAN", "G_L1", "D_real", "D_fake")

    def __init__(self, model_config, train_config=None, steps_per_epoch: int = 1, **kwargs):
        super().__init__(model_config, train_config, steps_per_epoch, **kwargs)
        m = model_config
        self.G = build_generator(
            m.netG, m.input_channels, m.output_channels, norm=m.norm, ngf=m.ngf,
            dropout=m.dropout, init_type=m.init_type, init_gain=m.init_gain,
            scale=self.scale if m.netG in SR_GENERATORS else None,
        )
        self.D = build_discriminator(
            m.netD, m.input_channels + m.output_channels, norm=m.norm, ndf=m.ndf,
            n_layers=m.n_layers_D, init_type=m.init_type, init_gain=m.init_gain,
        )
        self.fake_pool = ImagePool(m.pool_size, name="fake_pool")
        self.built = True

    @classmethod
    def losses_for(cls, model_config):
        if not model_config.lambda_gan:
            return ("G_L1",)  # the reconstruction-only stage: D is not trained
        return cls.loss_names + (("D_gp",) if model_config.gan_mode == "wgangp" else ())

    def call(self, inputs, training=False):
        return self.G(inputs, training=training)

    def generator_for(self, direction: str = "AtoB") -> keras.Model:
        if direction != "AtoB":
            raise ValueError(f"pix2pix has one direction, AtoB (asked for {direction!r})")
        return self.G

    def networks(self):
        return {"G": self.G, "D": self.D}

    def pools(self):
        return {"pool": self.fake_pool} if self.fake_pool.size > 0 else {}

    def optimized_variables(self):
        return {"G": self.G.trainable_variables, "D": self.D.trainable_variables}

    def sample_rows(self, batch, task):
        return paired_sample_rows(self.G, batch, task)

    def pair(self, real_a, image_b):
        """D's input: the condition at the output's size, then the (real or fake) output."""
        image_b = tf.cast(image_b, float_dtype())
        return tf.concat([resize_like(tf.cast(real_a, float_dtype()), image_b), image_b], axis=-1)

    def update_discriminator(self, real_a, real_b, fake_b) -> dict:
        """D learns real pairs -> real, fake pairs -> fake; its loss is halved (the reference)."""
        fake_ab = self.fake_pool.query(self.pair(real_a, fake_b), self.draw_seed(1))
        real_ab = self.pair(real_a, real_b)
        with tf.GradientTape() as tape:
            loss_fake = self.gan_loss(self.D(fake_ab, training=True), False)
            loss_real = self.gan_loss(self.D(real_ab, training=True), True)
            loss = average((loss_fake + loss_real) * 0.5)
            losses = {"D_real": tf.reduce_mean(loss_real), "D_fake": tf.reduce_mean(loss_fake)}
            if self.gan_loss.mode == "wgangp":
                gp = gradient_penalty(self.D, real_ab, fake_ab, self.draw_seed(2))
                loss += average(gp) * self.model_config.lambda_gp
                losses["D_gp"] = tf.reduce_mean(gp)
            scaled = self.optimizers["D"].scale_loss(loss)
        self.minimize("D", tape, scaled)
        return losses

    def optimize_parameters(self, data):
        """The reference's optimize_parameters: forward G, update D, then update G against the
        updated D with GAN + lambda_L1 * L1."""
        real_a, real_b = data
        real_b = tf.cast(real_b, float_dtype())
        lambda_gan = self.model_config.lambda_gan
        with tf.GradientTape() as tape:
            fake_b = tf.cast(self.G(real_a, training=True), float_dtype())
            loss_l1 = l1(fake_b, real_b) * self.model_config.lambda_L1
            losses = {"G_L1": tf.reduce_mean(loss_l1)}
            loss = loss_l1
            if lambda_gan:  # a Python constant: lambda_gan 0 traces no D at all
                with tape.stop_recording():
                    losses.update(self.update_discriminator(real_a, real_b, fake_b))
                loss_gan = self.gan_loss(
                    self.D(self.pair(real_a, fake_b), training=True), True, for_discriminator=False
                )
                loss = loss + loss_gan * lambda_gan
                losses["G_GAN"] = tf.reduce_mean(loss_gan)
            scaled = self.optimizers["G"].scale_loss(average(loss))
        self.minimize("G", tape, scaled)
        return losses
