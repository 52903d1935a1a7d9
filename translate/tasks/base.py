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

    def __init__(self, config: TaskConfig | None = None):
        """config: the recipe's task section (a task without options ignores it)."""

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

    # -- what fits the task ------------------------------------------------------------------
    fixed_channels = False  # True: the model must have the task's input/output channels

    def check_model(self, model) -> str | None:
        """Why model options (a ModelOptions) do not fit this task, in one line; None if they
        do. A same-size generator, channels as the data has them (e.g. 1 for gray images)."""
        from translate.networks import SR_GENERATORS

        if model.netG in SR_GENERATORS:
            return (
                f"model.netG={model.netG} is a super-resolution generator; use it with "
                "task.name=superres"
            )
        return self.check_channels(model)

    def check_channels(self, model) -> str | None:
        wanted = (self.input_channels, self.output_channels)
        got = (model.input_channels, model.output_channels)
        if self.fixed_channels and got != wanted:
            return (
                f"task {self.name} needs model.input_channels={wanted[0]} and "
                f"model.output_channels={wanted[1]} (got {got[0]} and {got[1]})"
            )
        return None

    # -- how `translate evaluate` scores it (translate/evaluation.py runs the loop) ----------
    def evaluation_protocol(self, data, split: str, direction: str):
        """PSNR / SSIM in RGB against paired targets, FID / KID against the target domain."""
        from translate.evaluation import Protocol, translation_items

        items, unpaired_targets = translation_items(data, split, direction)
        description = (
            "FID/KID of the outputs against the target domain (InceptionV3 features)"
            if unpaired_targets
            else "RGB against paired targets, mean over images; FID/KID: InceptionV3 features"
        )
        return Protocol(items, "rgb", 0, description, unpaired_targets, distribution=True)

    def baseline_output(self, image):
        """What the trivial method (`baseline`) outputs for the same uint8 input."""
        return image

    def evaluation_notes(self, data) -> list[str]:
        """Lines printed under the scores (e.g. the published figures for that test set)."""
        return []


TranslationTask = Task
