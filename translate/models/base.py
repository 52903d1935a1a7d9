"""What Pix2Pix and CycleGAN share: optimizers, the step counter, loss tracking, distribution math.

The subclasses hold only their networks and their train_step, which reads as the paper's algorithm.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from translate.losses import GANLoss
from translate.models.adam import FusedAdam
from translate.models.schedule import ConstantThenLinearDecay

_FIRST = tf.VariableAggregation.ONLY_FIRST_REPLICA


def average(per_example: tf.Tensor) -> tf.Tensor:
    """A per-example loss averaged over the global batch: summing replicas' gradients is right."""
    return tf.nn.compute_average_loss(per_example)


class GANModel(keras.Model):
    """Base of the translation GANs: a keras.Model whose fit() runs the subclass's train_step."""

    kind = "gan"
    loss_names: tuple[str, ...] = ()

    def __init__(self, model_config, train_config=None, steps_per_epoch: int = 1, **kwargs):
        super().__init__(name=kwargs.pop("name", model_config.kind), **kwargs)
        from translate.config import TrainConfig

        self.model_config = model_config
        self.train_config = train_config or TrainConfig()
        self.steps_per_epoch = int(steps_per_epoch)
        self.gan_loss = GANLoss(model_config.gan_mode)
        # The step fit and resume count in; also the second half of every random-draw seed.
        self.train_step_counter = tf.Variable(
            0, dtype=tf.int64, trainable=False, aggregation=_FIRST, name="train_step"
        )
        # First half of the seeds: drawn from the global seed, saved with the checkpoint.
        self.seed = tf.Variable(
            int(np.random.randint(0, 2**31 - 1)), dtype=tf.int64, trainable=False,
            aggregation=_FIRST, name="seed",
        )
        self.trackers = [keras.metrics.Mean(name=n) for n in self.losses_for(model_config)]
        self.optimizer_G = self.optimizer_D = None  # noqa: N815 (the reference's names)

    # -- the pieces subclasses provide -------------------------------------------------------
    @classmethod
    def losses_for(cls, model_config) -> tuple[str, ...]:
        """The names train_step reports (the reference's), in order."""
        return cls.loss_names

    def generator_variables(self) -> list:
        raise NotImplementedError

    def discriminator_variables(self) -> list:
        raise NotImplementedError

    def networks(self) -> dict[str, keras.Model]:
        raise NotImplementedError

    def pools(self) -> dict:
        return {}

    # -- Keras API ---------------------------------------------------------------------------
    def compile(self, train_config=None, jit_compile=False, steps_per_execution=1):
        """Adam for G and for D (the reference's settings) on the lr schedule, built on their
        variables here, inside the caller's strategy scope, before fit."""
        if train_config is not None:
            self.train_config = train_config
        self.optimizer_G = self._make_optimizer("optimizer_G")
        self.optimizer_D = self._make_optimizer("optimizer_D")
        self.optimizer_G.build(self.generator_variables())
        self.optimizer_D.build(self.discriminator_variables())
        # Keras's own optimizer slot: G's, so callbacks (TensorBoard lr) see a real one.
        super().compile(
            optimizer=self.optimizer_G, jit_compile=jit_compile,
            steps_per_execution=steps_per_execution, auto_scale_loss=False,
        )

    def _make_optimizer(self, name: str):
        t = self.train_config
        schedule = ConstantThenLinearDecay(t.lr, self.steps_per_epoch, t.epochs, t.epochs_decay)
        optimizer = FusedAdam(
            learning_rate=schedule, beta_1=t.beta_1, beta_2=t.beta_2, name=name
        )
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=name)
        return optimizer

    @property
    def metrics(self):
        return list(self.trackers)

    def generator_for(self, direction: str = "AtoB") -> keras.Model:
        raise NotImplementedError

    def checkpoint_items(self) -> dict:
        """Everything a run needs to continue exactly, for tf.train.Checkpoint(**items)."""
        items = dict(self.networks())
        if self.optimizer_G is not None:
            items.update(optimizer_G=self.optimizer_G, optimizer_D=self.optimizer_D)
        items.update(self.pools())
        items.update(step=self.train_step_counter, seed=self.seed)
        if self.random_states() is not None:
            items["random"] = self.random_states()
        return items

    def random_states(self):
        """The networks' Keras seed-generator states (dropout masks), which Keras layers do not
        hand to tf.train.Checkpoint themselves; None when no network draws random numbers."""
        if not hasattr(self, "_random_states"):
            states = {
                f"{name}_{i}": v
                for name, net in self.networks().items()
                for i, v in enumerate(
                    v for v in net.non_trainable_variables if v.name == "seed_generator_state"
                )
            }
            self._random_states = tf.train.Checkpoint(**states) if states else None
        return self._random_states

    # -- helpers for train_step --------------------------------------------------------------
    def draw_seed(self, salt: int) -> tf.Tensor:
        """A stateless seed: the same draws on every replica, and after a resume."""
        return tf.stack([self.seed + salt, self.train_step_counter.read_value()])

    @staticmethod
    def minimize(optimizer, tape: tf.GradientTape, scaled_loss, variables) -> None:
        """Apply d(loss)/d(variables); scaled_loss came from optimizer.scale_loss on the tape."""
        grads = tape.gradient(scaled_loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    def record(self, losses: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Track this replica's unscaled batch-mean losses; return every loss's running mean."""
        for tracker in self.trackers:
            tracker.update_state(losses[tracker.name])
        self.train_step_counter.assign_add(1)
        return {tracker.name: tracker.result() for tracker in self.trackers}


def resize_like(images: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """`images` at the spatial size of `like` (bicubic), or unchanged when the sizes match."""
    if images.shape[1:3].is_fully_defined() and images.shape[1:3] == like.shape[1:3]:
        return images
    return tf.image.resize(images, tf.shape(like)[1:3], method="bicubic")
