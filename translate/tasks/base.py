"""What every task is: pure TensorFlow pre/post-processing around one generator.

fit, apply, export and evaluate all go through these functions, so they can never disagree.
They take and return tensors (NHWC batches or HWC images) and work eagerly, inside tf.data and
inside exported graphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class TaskConfig:
    """The task section of a recipe."""

    name: str = "translation"  # translation | colorization | superres
    scale: int = 4  # superres only: output size / input size
    degradation: str = "bicubic"  # superres only: bicubic | realistic (blur + noise + JPEG)


class Task:
    """Plain image-to-image translation: RGB [0, 1] <-> model space [-1, 1]."""

    name = "translation"
    input_channels = 3
    output_channels = 3
    scale = 1  # output size / input size
    size_multiple = 1  # the task's own constraint on input sizes (the generator has its own)
    makes_own_pairs = False  # True: training pairs come from single images via make_pair
    keeps_grayscale = False  # a gray photo in gives a gray photo out (apply)
    baseline = "identity"  # what `translate evaluate` scores the model against

    def to_model(self, image01: tf.Tensor) -> tf.Tensor:
        """A photo (RGB float in [0, 1]) to the generator's input."""
        return tf.cast(image01, tf.float32) * 2.0 - 1.0

    def from_model(self, output: tf.Tensor, image01: tf.Tensor | None = None) -> tf.Tensor:
        """The generator's output to a photo (RGB float in [0, 1]); image01 is the input photo."""
        return tf.clip_by_value((tf.cast(output, tf.float32) + 1.0) * 0.5, 0.0, 1.0)

    def target_to_model(self, image01: tf.Tensor) -> tf.Tensor:
        """A target photo to the generator's output space (for paired data and evaluation)."""
        return tf.cast(image01, tf.float32) * 2.0 - 1.0

    def input_to_image01(self, model_input: tf.Tensor) -> tf.Tensor:
        """The generator's input back to the photo it stands for (for sample grids)."""
        return tf.clip_by_value((tf.cast(model_input, tf.float32) + 1.0) * 0.5, 0.0, 1.0)

    def make_pair(self, image01: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(input, target) in model space from one photo; only for tasks that make their pairs."""
        raise NotImplementedError(f"task {self.name} takes its pairs from the data")


TranslationTask = Task
