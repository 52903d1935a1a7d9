"""The reference's learning-rate policy 'linear', in steps: constant, then linear decay to ~0."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="translate")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr for `epochs` epochs, then linear decay over `epochs_decay` epochs.

    Per epoch e (0-based, e = step // steps_per_epoch) the factor is the reference's lambda_rule:
    1 - max(0, e + 1 - epochs) / (epochs_decay + 1). The step is the optimizer's iteration count,
    so the schedule's position is saved with the optimizer in every checkpoint.
    """

    def __init__(self, initial_learning_rate: float, steps_per_epoch: int, epochs: int,
                 epochs_decay: int):
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.epochs = int(epochs)
        self.epochs_decay = int(epochs_decay)

    def __call__(self, step):
        # In float64: a float32 lr (2e-4 -> 2.0000000950e-4, 4.7e-9 off) is what made float64
        # runs part from the reference's; the optimizer casts it to each variable's dtype.
        epoch = tf.cast(tf.cast(step, tf.int64) // self.steps_per_epoch, tf.float64)
        factor = 1.0 - tf.maximum(epoch + 1.0 - self.epochs, 0.0) / (self.epochs_decay + 1.0)
        return tf.constant(self.initial_learning_rate, tf.float64) * tf.maximum(factor, 0.0)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "epochs_decay": self.epochs_decay,
        }
