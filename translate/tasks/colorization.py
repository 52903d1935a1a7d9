"""Colorization: L in, ab out, recombined with the photo's own L (the reference's colorization model).

Scaling as the reference (data/colorization_dataset.py, util.lab2rgb): L in [0, 100] -> L/50 - 1,
ab -> ab/110, both in about [-1, 1]. The output keeps the input photo's L at its full resolution,
so a large photo keeps its detail even when the model ran on a smaller copy.
"""

from __future__ import annotations

import tensorflow as tf

from translate.tasks.base import Task
from translate.tasks.lab import as_rgb, lab_to_rgb, rgb_to_lab

AB_SCALE = 110.0


def lightness_to_model(lab: tf.Tensor) -> tf.Tensor:
    return lab[..., :1] / 50.0 - 1.0


def ab_to_model(lab: tf.Tensor) -> tf.Tensor:
    return lab[..., 1:] / AB_SCALE


class ColorizationTask(Task):
    """Photo (RGB or gray, [0, 1]) -> L (1 channel) -> generator -> ab (2 channels) -> photo."""

    name = "colorization"
    baseline = "gray"  # the input itself, as a colour image
    input_channels = 1
    output_channels = 2
    fixed_channels = True
    makes_own_pairs = True

    def evaluation_protocol(self, data, split, direction):
        """Every photo is its own reference; RGB measures and colourfulness."""
        from translate.evaluation import Protocol, colorization_items

        return Protocol(colorization_items(data), "rgb", 0,
                        "RGB, mean over images; colourfulness (Hasler & Suesstrunk): "
                        "the reference's is the aim", [])

    def baseline_output(self, image):
        from translate.metrics import gray_baseline

        return gray_baseline(image)

    def to_model(self, image01: tf.Tensor) -> tf.Tensor:
        """The photo's lightness, L/50 - 1, shape [..., 1]; gray photos work as they are."""
        return lightness_to_model(rgb_to_lab(as_rgb(image01)))

    def target_to_model(self, image01: tf.Tensor) -> tf.Tensor:
        """The photo's colour, ab/110, shape [..., 2] (zero for a gray photo)."""
        return ab_to_model(rgb_to_lab(as_rgb(image01)))

    def make_pair(self, image01: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(L, ab) in model space from one photo, converting to Lab once."""
        lab = rgb_to_lab(as_rgb(image01))
        return lightness_to_model(lab), ab_to_model(lab)

    def from_model(self, output: tf.Tensor, image01: tf.Tensor | None = None) -> tf.Tensor:
        """Predicted ab (resized to the photo's size) + the photo's own L -> RGB in [0, 1].

        Without the photo (image01=None) the model's ab sit on a mid-gray L = 50, for a look.
        """
        ab = tf.clip_by_value(tf.cast(output, tf.float32), -1.0, 1.0) * AB_SCALE
        if image01 is None:
            lightness = tf.fill(tf.concat([tf.shape(ab)[:-1], [1]], 0), 50.0)
        else:
            lightness = rgb_to_lab(as_rgb(image01))[..., :1]
            size = tf.shape(lightness)[-3:-1]
            same = ab.shape[-3:-1] == lightness.shape[-3:-1] and None not in ab.shape[-3:-1]
            if not same:  # the model ran on a smaller copy (or sizes are only known at run time)
                ab = tf.image.resize(ab, size, method="bilinear")
        return lab_to_rgb(tf.concat([lightness, ab], axis=-1))

    def input_to_image01(self, model_input: tf.Tensor) -> tf.Tensor:
        """The model's input (L/50 - 1) back to the gray photo it stands for, RGB in [0, 1]."""
        lightness = (tf.cast(model_input, tf.float32) + 1.0) * 50.0
        zeros = tf.zeros_like(lightness)
        return lab_to_rgb(tf.concat([lightness, zeros, zeros], axis=-1))
