"""CycleGAN (Zhu et al. 2017): two generators, two discriminators, cycle and identity losses."""

from __future__ import annotations

import keras
import tensorflow as tf

from translate.data.config import DIRECTIONS
from translate.errors import UserError
from translate.layers import float_dtype
from translate.losses import gradient_penalty, l1
from translate.models.base import GANModel, average
from translate.models.pool import ImagePool
from translate.networks import build_discriminator, build_generator


class CycleGAN(GANModel):
    """G_A: A -> B, G_B: B -> A; D_A judges domain B (real_B vs G_A's fakes), D_B domain A.

    Names follow the reference's cycle_gan_model.py, so do the reported losses.
    call() is G_A, for inference.
    """

    kind = "cyclegan"
    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")

    def __init__(self, model_config, train_config=None, steps_per_epoch: int = 1, **kwargs):
        m = model_config
        if m.lambda_identity > 0 and m.input_channels != m.output_channels:
            raise UserError(
                f"model.lambda_identity={m.lambda_identity} needs as many input as output channels "
                f"(got {m.input_channels} and {m.output_channels}); set model.lambda_identity=0"
            )
        super().__init__(model_config, train_config, steps_per_epoch, **kwargs)

        def generator(cin, cout):
            return build_generator(
                m.netG, cin, cout, norm=m.norm, ngf=m.ngf, dropout=m.dropout,
                init_type=m.init_type, init_gain=m.init_gain,
            )

        def discriminator(channels):
            return build_discriminator(
                m.netD, channels, norm=m.norm, ndf=m.ndf, n_layers=m.n_layers_D,
                init_type=m.init_type, init_gain=m.init_gain,
            )

        self.G_A = generator(m.input_channels, m.output_channels)  # noqa: N815
        self.G_B = generator(m.output_channels, m.input_channels)  # noqa: N815
        self.D_A = discriminator(m.output_channels)  # noqa: N815
        self.D_B = discriminator(m.input_channels)  # noqa: N815
        self.fake_A_pool = ImagePool(m.pool_size, name="fake_A_pool")  # noqa: N815
        self.fake_B_pool = ImagePool(m.pool_size, name="fake_B_pool")  # noqa: N815
        self.built = True

    def call(self, inputs, training=False):
        return self.G_A(inputs, training=training)

    def generator_for(self, direction: str = "AtoB") -> keras.Model:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be AtoB or BtoA (got {direction!r})")
        return self.G_A if direction == "AtoB" else self.G_B

    def networks(self):
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def pools(self):
        if self.fake_A_pool.size <= 0:
            return {}
        return {"fake_A_pool": self.fake_A_pool, "fake_B_pool": self.fake_B_pool}

    def generator_variables(self):
        return self.G_A.trainable_variables + self.G_B.trainable_variables

    def discriminator_variables(self):
        return self.D_A.trainable_variables + self.D_B.trainable_variables

    def update_generators(self, real_a, real_b):
        """Both G at once (one optimizer, as the reference's itertools.chain): fool both D, close
        both cycles, and (lambda_identity > 0) leave images already in the target domain alone."""
        m = self.model_config
        real_a, real_b = tf.cast(real_a, float_dtype()), tf.cast(real_b, float_dtype())
        zero = tf.zeros_like(real_a[:, 0, 0, 0])
        with tf.GradientTape() as tape:
            fake_b = tf.cast(self.G_A(real_a, training=True), float_dtype())
            rec_a = tf.cast(self.G_B(fake_b, training=True), float_dtype())
            fake_a = tf.cast(self.G_B(real_b, training=True), float_dtype())
            rec_b = tf.cast(self.G_A(fake_a, training=True), float_dtype())
            idt_a = idt_b = zero
            if m.lambda_identity > 0:
                weight = m.lambda_identity
                idt_a = l1(self.G_A(real_b, training=True), real_b) * m.lambda_B * weight
                idt_b = l1(self.G_B(real_a, training=True), real_a) * m.lambda_A * weight
            gan_a = self.gan_loss(self.D_A(fake_b, training=True), True, for_discriminator=False)
            gan_b = self.gan_loss(self.D_B(fake_a, training=True), True, for_discriminator=False)
            cycle_a = l1(rec_a, real_a) * m.lambda_A
            cycle_b = l1(rec_b, real_b) * m.lambda_B
            loss = average(gan_a + gan_b + cycle_a + cycle_b + idt_a + idt_b)
            scaled = self.optimizer_G.scale_loss(loss)
        self.minimize(self.optimizer_G, tape, scaled, self.generator_variables())
        losses = {"G_A": gan_a, "G_B": gan_b, "cycle_A": cycle_a, "cycle_B": cycle_b,
                  "idt_A": idt_a, "idt_B": idt_b}
        return fake_a, fake_b, {k: tf.reduce_mean(v) for k, v in losses.items()}

    def discriminator_loss(self, discriminator, real, fake, salt: int):
        """Per-example (real -> real, fake -> fake) * 0.5, plus lambda_gp * GP for wgangp."""
        loss = 0.5 * (
            self.gan_loss(discriminator(real, training=True), True)
            + self.gan_loss(discriminator(fake, training=True), False)
        )
        if self.gan_loss.mode == "wgangp":
            gp = gradient_penalty(discriminator, real, fake, self.draw_seed(salt))
            loss += gp * self.model_config.lambda_gp
        return loss

    def update_discriminators(self, real_a, real_b, fake_a, fake_b):
        """Both D at once, each on real images and on fakes drawn from its history pool."""
        fake_b = self.fake_B_pool.query(fake_b, self.draw_seed(1))
        fake_a = self.fake_A_pool.query(fake_a, self.draw_seed(2))
        with tf.GradientTape() as tape:
            loss_a = self.discriminator_loss(self.D_A, tf.cast(real_b, float_dtype()), fake_b, 3)
            loss_b = self.discriminator_loss(self.D_B, tf.cast(real_a, float_dtype()), fake_a, 4)
            scaled = self.optimizer_D.scale_loss(average(loss_a + loss_b))
        self.minimize(self.optimizer_D, tape, scaled, self.discriminator_variables())
        return {"D_A": tf.reduce_mean(loss_a), "D_B": tf.reduce_mean(loss_b)}

    def train_step(self, data):
        """The reference's optimize_parameters: forward both cycles, update G, then update D."""
        real_a, real_b = data
        fake_a, fake_b, losses = self.update_generators(real_a, real_b)
        losses.update(self.update_discriminators(real_a, real_b, fake_a, fake_b))
        return self.record(losses)
