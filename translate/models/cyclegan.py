"""CycleGAN (Zhu et al. 2017): two generators, two discriminators, cycle and identity losses."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from translate.data.config import DIRECTIONS
from translate.layers import float_dtype
from translate.losses import gradient_penalty, l1
from translate.models.base import GANModel, average
from translate.models.options import ModelOptions
from translate.models.pool import ImagePool
from translate.networks import build_discriminator, build_generator


@dataclass
class CycleGANOptions(ModelOptions):
    """The reference's cycle_gan defaults (base_options.py and cycle_gan_model.py)."""

    kind: str = "cyclegan"
    lambda_A: float = 10.0  # noqa: N815  cycle A -> B -> A
    lambda_B: float = 10.0  # noqa: N815  cycle B -> A -> B
    lambda_identity: float = 0.5  # x the cycle weight; 0 disables the identity loss

    def ranges(self):
        return {
            **super().ranges(),
            "lambda_A": (self.lambda_A, 0.0, None),
            "lambda_B": (self.lambda_B, 0.0, None),
            "lambda_identity": (self.lambda_identity, 0.0, None),
        }

    def check(self):
        if self.lambda_identity > 0 and self.input_channels != self.output_channels:
            return (
                f"model.lambda_identity={self.lambda_identity} needs as many input as output "
                f"channels (got {self.input_channels} and {self.output_channels}); set "
                "model.lambda_identity=0"
            )
        return None


class CycleGAN(GANModel):
    """G_A: A -> B, G_B: B -> A; D_A judges domain B (real_B vs G_A's fakes), D_B domain A.

    Names follow the reference's cycle_gan_model.py, so do the reported losses.
    call() is G_A, for inference.
    """

    kind = "cyclegan"
    Options = CycleGANOptions
    directions = DIRECTIONS
    paired = False
    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")

    def __init__(self, model_config, train_config=None, steps_per_epoch: int = 1, **kwargs):
        super().__init__(model_config, train_config, steps_per_epoch, **kwargs)
        m = model_config

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

    def optimized_variables(self):
        """One optimizer for both G, one for both D (the reference's itertools.chain)."""
        return {
            "G": self.G_A.trainable_variables + self.G_B.trainable_variables,
            "D": self.D_A.trainable_variables + self.D_B.trainable_variables,
        }

    def sample_rows(self, batch, task):
        """real | fake | reconstruction, for A then for B."""
        a, b = batch
        fake_b = self.G_A(a, training=False)
        rec_a, fake_a = self.G_B(fake_b, training=False), self.G_B(b, training=False)
        rec_b = self.G_A(fake_a, training=False)
        rows = [[a, fake_b, rec_a], [b, fake_a, rec_b]]
        photos = [[task.from_model(x) for x in row] for row in rows]
        captions = [["real A", "A->B", "back to A"], ["real B", "B->A", "back to B"]]
        return (
            [[img[i] for img in row] for row in photos for i in range(len(a))],
            [caption for caption in captions for _ in range(len(a))],
        )

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
            scaled = self.optimizers["G"].scale_loss(loss)
        self.minimize("G", tape, scaled)
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
            scaled = self.optimizers["D"].scale_loss(average(loss_a + loss_b))
        self.minimize("D", tape, scaled)
        return {"D_A": tf.reduce_mean(loss_a), "D_B": tf.reduce_mean(loss_b)}

    def optimize_parameters(self, data):
        """The reference's optimize_parameters: forward both cycles, update G, then update D."""
        real_a, real_b = data
        fake_a, fake_b, losses = self.update_generators(real_a, real_b)
        losses.update(self.update_discriminators(real_a, real_b, fake_a, fake_b))
        return losses
