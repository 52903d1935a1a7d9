"""sRGB <-> CIE Lab (D65, 2 degrees) in TensorFlow, the maths of skimage.color.rgb2lab/lab2rgb.

Per-pixel on the last axis, so any rank works (HWC, NHWC, a single pixel), eagerly, inside
tf.data and inside exported graphs. The reference's colorization model uses exactly this space.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# sRGB (linear) -> XYZ, and the D65 white point: skimage's xyz_from_rgb and illuminants["D65"]["2"].
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
WHITE_D65 = (0.95047, 1.0, 1.08883)
RGB_FROM_XYZ = np.linalg.inv(np.array(XYZ_FROM_RGB))

_EPSILON = 0.008856  # (6/29)**3, as skimage rounds it
_KAPPA_SLOPE = 7.787  # (29/6)**2 / 3, as skimage rounds it
_F_OFFSET = 16.0 / 116.0


def _apply_matrix(x: tf.Tensor, matrix) -> tf.Tensor:
    """x[..., 3] @ matrix.T, i.e. each pixel is a column vector multiplied by `matrix`."""
    m = tf.constant(np.asarray(matrix), dtype=tf.float32)
    return tf.tensordot(x, tf.transpose(m), axes=[[-1], [0]])


def rgb_to_lab(rgb01: tf.Tensor) -> tf.Tensor:
    """sRGB in [0, 1] -> Lab with L in [0, 100], a and b roughly in [-110, 110]."""
    rgb = tf.clip_by_value(tf.cast(rgb01, tf.float32), 0.0, 1.0)
    linear = tf.where(
        rgb > 0.04045, tf.pow((tf.maximum(rgb, 0.04045) + 0.055) / 1.055, 2.4), rgb / 12.92
    )
    xyz = _apply_matrix(linear, XYZ_FROM_RGB) / tf.constant(WHITE_D65)
    f = tf.where(
        xyz > _EPSILON,
        tf.pow(tf.maximum(xyz, _EPSILON), 1.0 / 3.0),
        _KAPPA_SLOPE * xyz + _F_OFFSET,
    )
    fx, fy, fz = tf.unstack(f, axis=-1)
    return tf.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_rgb(lab: tf.Tensor) -> tf.Tensor:
    """Lab -> sRGB in [0, 1] (clipped; colours outside the sRGB gamut saturate, as in skimage)."""
    lab = tf.cast(lab, tf.float32)
    lightness, a, b = tf.unstack(lab, axis=-1)
    fy = (lightness + 16.0) / 116.0
    # skimage sets negative z to 0 (with a warning) before inverting f.
    f = tf.stack([a / 500.0 + fy, fy, tf.maximum(fy - b / 200.0, 0.0)], axis=-1)
    threshold = 0.2068966  # 6/29, as skimage rounds it
    xyz = tf.where(
        f > threshold, tf.pow(tf.maximum(f, threshold), 3.0), (f - _F_OFFSET) / _KAPPA_SLOPE
    )
    xyz = xyz * tf.constant(WHITE_D65)
    linear = _apply_matrix(xyz, RGB_FROM_XYZ)
    rgb = tf.where(
        linear > 0.0031308,
        1.055 * tf.pow(tf.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055,
        linear * 12.92,
    )
    return tf.clip_by_value(rgb, 0.0, 1.0)


def as_rgb(image01: tf.Tensor) -> tf.Tensor:
    """A 1-channel (gray) photo as 3 equal channels; a 3-channel photo as it is."""
    image01 = tf.cast(image01, tf.float32)
    if image01.shape[-1] == 1:
        return tf.concat([image01] * 3, axis=-1)
    return image01
