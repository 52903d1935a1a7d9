"""What every model kind shares: optimizers, the step counter, loss tracking, distribution math.

The subclasses hold only their networks and optimize_parameters, which reads as the paper's
algorithm.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from translate.errors import UserError
from translate.losses import GANLoss
from translate.models.adam import FusedAdam
from translate.models.options import ModelOptions
from translate.models.schedule import ConstantThenLinearDecay

_FIRST = tf.VariableAggregation.ONLY_FIRST_REPLICA


def average(per_example: tf.Tensor) -> tf.Tensor:
    """A per-example loss averaged over the global batch: summing replicas' gradients is right."""
    return tf.nn.compute_average_loss(per_example)


class GANModel(keras.Model):
    """Base of the model kinds: a keras.Model whose fit() runs the subclass's algorithm.

    A kind declares, as class attributes: `kind` (its name in recipes), `Options` (its options
    dataclass, with the reference's defaults), `directions` it translates, whether it trains on
    `paired` data, and `loss_names`. It builds its networks in __init__ and provides networks(),
    optimized_variables() (one optimizer per entry), generator_for(), sample_rows() and
    optimize_parameters(); train_step (here) tracks the losses and advances the step counter.
    """

    kind = "gan"
    Options = ModelOptions
    directions: tuple[str, ...] = ("AtoB",)
    paired = False
    loss_names: tuple[str, ...] = ()

    def __init__(
        self, model_config, train_config=None, steps_per_epoch: int = 1, scale: int = 1, **kwargs
    ):
        """scale: output size / input size of a super-resolution generator (the task's)."""
        problem = model_config.check()
        if problem:
            raise UserError(problem)
        super().__init__(name=kwargs.pop("name", model_config.kind), **kwargs)
        from translate.config import TrainConfig

        self.model_config = model_config
        self.train_config = train_config or TrainConfig()
        self.steps_per_epoch = int(steps_per_epoch)
        self.scale = int(scale)
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
        self.optimizers: dict = {}

    # -- the pieces subclasses provide -------------------------------------------------------
    @classmethod
    def losses_for(cls, model_config) -> tuple[str, ...]:
        """The names optimize_parameters reports (the reference's), in order."""
        return cls.loss_names

    def networks(self) -> dict[str, keras.Model]:
        raise NotImplementedError

    def optimized_variables(self) -> dict[str, list]:
        """Optimizer name -> the variables it updates, e.g. {"G": ..., "D": ...}."""
        raise NotImplementedError

    def pools(self) -> dict:
        return {}

    def generator_for(self, direction: str = "AtoB") -> keras.Model:
        raise NotImplementedError

    def sample_rows(self, batch, task) -> tuple[list[list], list[list[str]]]:
        """Rows of photos (RGB in [0, 1]) for a sample grid, and each row's column captions."""
        raise NotImplementedError

    def optimize_parameters(self, data) -> dict[str, tf.Tensor]:
        """One training iteration on a batch (the reference's name); returns this replica's
        batch-mean losses by name."""
        raise NotImplementedError

    # -- Keras API ---------------------------------------------------------------------------
    def compile(self, train_config=None, jit_compile=False, steps_per_execution=1):
        """One Adam per optimized_variables() entry (the reference's settings) on the lr
        schedule, built on its variables here, inside the caller's strategy scope, before fit."""
        if train_config is not None:
            self.train_config = train_config
        self.optimizers = {}
        for name, variables in self.optimized_variables().items():
            optimizer = self._make_optimizer(f"optimizer_{name}")
            optimizer.build(variables)
            self.optimizers[name] = optimizer
        # Keras's own optimizer slot: the first one (G's), so callbacks see a real one.
        super().compile(
            optimizer=next(iter(self.optimizers.values())), jit_compile=jit_compile,
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

    def train_step(self, data):
        """optimize_parameters, then its losses tracked and the step counter advanced."""
        losses = self.optimize_parameters(data)
        for tracker in self.trackers:
            tracker.update_state(losses[tracker.name])
        self.train_step_counter.assign_add(1)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def checkpoint_items(self) -> dict:
        """Everything a run needs to continue exactly, for tf.train.Checkpoint(**items)."""
        items = dict(self.networks())
        items.update({f"optimizer_{name}": opt for name, opt in self.optimizers.items()})
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

    # -- helpers for optimize_parameters -----------------------------------------------------
    def draw_seed(self, salt: int) -> tf.Tensor:
        """A stateless seed: the same draws on every replica, and after a resume."""
        return tf.stack([self.seed + salt, self.train_step_counter.read_value()])

    def minimize(self, name: str, tape: tf.GradientTape, scaled_loss) -> None:
        """Optimizer `name` steps down d(loss)/d(its variables); scaled_loss came from
        self.optimizers[name].scale_loss(global-batch average loss) on the tape."""
        variables = self.optimized_variables()[name]
        grads = tape.gradient(scaled_loss, variables)
        self.optimizers[name].apply_gradients(zip(grads, variables, strict=True))


def paired_sample_rows(generator, batch, task) -> tuple[list[list], list[list[str]]]:
    """input | output | target, one sample-grid row per example (models of paired data)."""
    a, b = batch
    photo_a = task.input_to_image01(a)
    out = task.from_model(generator(a, training=False), photo_a)
    target = task.from_model(b, photo_a)
    rows = [[photo_a[i], out[i], target[i]] for i in range(len(a))]
    return rows, [["input", "output", "target"]] * len(rows)


def resize_like(images: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """`images` at the spatial size of `like` (bicubic), or unchanged when the sizes match."""
    if images.shape[1:3].is_fully_defined() and images.shape[1:3] == like.shape[1:3]:
        return images
    return tf.image.resize(images, tf.shape(like)[1:3], method="bicubic")
