"""Super-resolution: pairs made on the fly from HR photos by a degradation; LR in, HR out.

bicubic: MATLAB-style imresize downscaling (antialiased bicubic, a = -0.5), the degradation of
the SR literature's benchmarks (Set5/Set14 LR files); TF's resize with antialias=True widens the
kernel by the scale exactly as MATLAB does.
realistic: Gaussian blur (random width) -> bicubic downscale -> Gaussian noise -> JPEG, each image
with its own parameters drawn from a seed, for photos from real cameras.
"""

from __future__ import annotations

import math

import tensorflow as tf

from translate.errors import UserError
from translate.tasks.base import Task, TaskConfig

SCALES = (2, 3, 4)
DEGRADATIONS = ("bicubic", "realistic")

# realistic degradation ranges (drawn uniformly per image)
NOISE_SIGMA = (1.0 / 255.0, 20.0 / 255.0)
JPEG_QUALITY = (40, 95)


def blur_sigma_range(scale: int) -> tuple[float, float]:
    """Gaussian blur widths in HR pixels; wider for larger scales (a camera's optics before SR)."""
    return 0.2, 0.5 * scale


def _batched(image: tf.Tensor) -> tuple[tf.Tensor, bool]:
    image = tf.cast(image, tf.float32)
    if image.shape.rank == 3:
        return image[tf.newaxis], True
    return image, False


class SuperResolutionTask(Task):
    """LR photo -> generator (x scale) -> HR photo; RGB in [-1, 1] on both sides."""

    name = "superres"
    keeps_grayscale = True  # it only enlarges: a gray photo stays gray
    baseline = "bicubic"
    makes_own_pairs = True
    fixed_channels = True  # RGB -> RGB

    def __init__(self, config: TaskConfig | None = None):
        config = config or TaskConfig(name="superres")
        if config.scale not in SCALES:
            raise UserError(
                f"task.scale={config.scale} is not supported; choose one of "
                + ", ".join(map(str, SCALES))
            )
        if config.degradation not in DEGRADATIONS:
            raise UserError(
                f"task.degradation={config.degradation!r} is not valid; choose one of "
                + ", ".join(DEGRADATIONS)
            )
        self.scale = int(config.scale)
        self.degradation = config.degradation

    def check_model(self, model):
        from translate.networks import SR_GENERATORS

        if model.netG not in SR_GENERATORS:
            return (
                f"model.netG={model.netG} does not upscale; task superres needs one of "
                + ", ".join(SR_GENERATORS)
            )
        return self.check_channels(model)

    def evaluation_protocol(self, data, split, direction):
        """Y-channel PSNR / SSIM with `scale` pixels shaved, as the SR literature reports."""
        from translate.evaluation import Protocol, superres_items

        return Protocol(superres_items(data, self), "sr", self.scale,
                        f"Y channel (ITU-R BT.601), {self.scale}-pixel border shaved, mean over "
                        "images", [])

    def baseline_output(self, image):
        from translate.metrics import upscale_bicubic

        return upscale_bicubic(image, self.scale)

    def evaluation_notes(self, data):
        from pathlib import Path

        from translate.metrics.baselines import published_sr_note

        note = published_sr_note(Path(data).resolve().name, self.scale)
        return [note] if note else []

    def crop_to_scale(self, hr01: tf.Tensor) -> tf.Tensor:
        """HR cropped (top-left, as MATLAB's modcrop) to height and width multiples of scale."""
        shape = tf.shape(hr01)
        h = shape[-3] // self.scale * self.scale
        w = shape[-2] // self.scale * self.scale
        return hr01[..., :h, :w, :]

    def degrade(self, hr01: tf.Tensor, seed: tf.Tensor | None = None) -> tf.Tensor:
        """HR photo(s) in [0, 1] (HWC or NHWC) -> LR photo(s) in [0, 1], 1/scale the size of
        the HR cropped to a multiple of scale, quantised to 8 bits like an LR file on disk.

        seed (two ints) makes the realistic degradation reproducible (e.g. in evaluate); without
        it each call draws new parameters from TF's (globally seeded) random state.
        """
        hr, unbatch = _batched(self.crop_to_scale(hr01))
        if self.degradation == "bicubic":
            lr = self._bicubic_down(hr)
        else:
            if seed is None:
                seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
            seed = tf.cast(seed, tf.int32)
            n = tf.shape(hr)[0]
            seeds = tf.stack([tf.fill([n], seed[0]), seed[1] + tf.range(n)], axis=1)
            lr = tf.map_fn(
                lambda args: self._realistic_one(args[0], args[1]),
                (hr, seeds),
                fn_output_signature=tf.float32,
            )
        lr = tf.round(tf.clip_by_value(lr, 0.0, 1.0) * 255.0) / 255.0
        return lr[0] if unbatch else lr

    def _bicubic_down(self, hr: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(hr)
        size = tf.stack([shape[-3] // self.scale, shape[-2] // self.scale])
        return tf.image.resize(hr, size, method="bicubic", antialias=True)

    def _realistic_one(self, hr: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """One HR image (HWC) -> blurred, downscaled, noisy, JPEG-compressed LR image."""
        seeds = [seed + [0, k * 7919] for k in range(1, 5)]
        low, high = blur_sigma_range(self.scale)
        sigma = tf.random.stateless_uniform([], seeds[0], low, high)
        x = _gaussian_blur(hr[tf.newaxis], sigma, radius=math.ceil(3 * high))
        x = tf.clip_by_value(self._bicubic_down(x)[0], 0.0, 1.0)
        noise_sigma = tf.random.stateless_uniform([], seeds[1], *NOISE_SIGMA)
        x = x + noise_sigma * tf.random.stateless_normal(tf.shape(x), seeds[2])
        quality = tf.random.stateless_uniform(
            [], seeds[3], JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, dtype=tf.int32
        )
        return tf.image.adjust_jpeg_quality(tf.clip_by_value(x, 0.0, 1.0), quality)

    def make_pair(self, image01: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(LR, HR) in model space from HR photo(s); HR cropped to a multiple of scale."""
        hr = self.crop_to_scale(tf.cast(image01, tf.float32))
        return self.to_model(self.degrade(hr)), self.target_to_model(hr)


def _gaussian_blur(images: tf.Tensor, sigma: tf.Tensor, radius: int) -> tf.Tensor:
    """NHWC images blurred by an isotropic Gaussian of width sigma (kernel 2 * radius + 1)."""
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    weights = tf.exp(-0.5 * tf.square(offsets / sigma))
    weights = weights / tf.reduce_sum(weights)
    channels = images.shape[-1] or 3
    padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "SYMMETRIC")
    rows = tf.tile(tf.reshape(weights, [-1, 1, 1, 1]), [1, 1, channels, 1])
    cols = tf.tile(tf.reshape(weights, [1, -1, 1, 1]), [1, 1, channels, 1])
    x = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(x, cols, [1, 1, 1, 1], "VALID")
