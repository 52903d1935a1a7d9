"""Reflection padding to a generator's size multiple, shared by apply and export.

Photos are padded centred, by repeated reflection (numpy's 'reflect', for pads of any length),
run through the generator and cropped back, so any height and width works.
"""

from __future__ import annotations

import numpy as np


def reflect_indices(size: int, before: int, after: int) -> np.ndarray:
    """Source index of every padded position under repeated reflection (numpy's 'reflect').

    The numpy twin of reflect_indices_tensor; works for pads longer than the image.
    """
    positions = np.arange(-before, size + after)
    period = max(2 * (size - 1), 1)
    folded = np.mod(positions, period)
    return np.where(folded >= size, period - folded, folded)


def pad_amounts(size: int, multiple: int) -> tuple[int, int]:
    """(before, after): centred padding of `size` up to a multiple of `multiple`."""
    padded = -(-size // multiple) * multiple
    before = (padded - size) // 2
    return before, padded - size - before


def reflect_indices_tensor(size, before, after):
    """The source index of every padded position under reflection, for pads of any length.

    tf.pad's REFLECT refuses pads as long as the image (a 40-pixel photo padded to U-Net's 256);
    repeated reflection is a triangle wave of period 2 * (size - 1), as numpy's 'reflect' pads.
    """
    import tensorflow as tf

    period = tf.maximum(2 * (size - 1), 1)
    # Shifted by whole periods to be non-negative first: the remainder of a negative number is
    # where exporters differ (tf2onnx's Mod gives -1 for floormod(-1, 98)).
    positions = tf.range(-before, size + after) + period * (before // period + 1)
    folded = tf.math.floormod(positions, period)
    return tf.where(folded >= size, period - folded, folded)


# Photos with a side under this are reflect-padded up to it, then cropped back: a ResNet
# generator's residual blocks (1/4 of the input) need 2 px for their reflection padding.
MIN_SIDE = 8


def reflect_pad_to_multiple(images, multiple: int):
    """Reflect-pad an NHWC batch, centred, to height and width multiples of `multiple`, and to
    at least MIN_SIDE: a 4-px photo through a ResNet generator would reach its residual blocks
    1 px wide, where their reflection padding cannot run. Larger photos are padded as before.

    Returns (padded, top, left) so that the caller can crop the output back.
    """
    import tensorflow as tf

    height, width = tf.shape(images)[1], tf.shape(images)[2]
    smallest = (MIN_SIDE + multiple - 1) // multiple * multiple
    padded_h = tf.maximum((height + multiple - 1) // multiple * multiple, smallest)
    padded_w = tf.maximum((width + multiple - 1) // multiple * multiple, smallest)
    top, left = (padded_h - height) // 2, (padded_w - width) // 2
    rows = reflect_indices_tensor(height, top, padded_h - height - top)
    cols = reflect_indices_tensor(width, left, padded_w - width - left)
    return tf.gather(tf.gather(images, rows, axis=1), cols, axis=2), top, left
