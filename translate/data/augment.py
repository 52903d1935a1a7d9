"""Augmentation: the reference jitter as native TF ops, extra transforms through albumentations.

The reference's default (resize to load_size, random crop to crop_size, random horizontal flip)
runs as stateless TF ops: fast, inside the tf.data graph, and a pure function of the element's
seed. Anything else a recipe asks for (colour jitter, rotations, noise, JPEG artefacts) is an
albumentations pipeline; paired data gets the identical transform on A and B through
`additional_targets`.
"""

from __future__ import annotations

import threading

from translate.errors import UserError

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")


# ---------------------------------------------------------------------------------------------
# Native TF: the reference preprocessing (get_transform in the reference's base_dataset.py)


def preprocess(image, seed, config):
    """Resize / crop / flip one HxWxC float image as `config.preprocess` says, seeded statelessly.

    Stateless ops: the same seed on images of the same size gives the same crop and flip, which
    is how A and B of a pair stay aligned.
    """
    import tensorflow as tf

    mode, load, crop = config.preprocess, config.load_size, config.crop_size
    channels = image.shape[-1]
    if mode == "resize_and_crop":
        image = resize(image, [load, load])
    elif mode.startswith("scale_width"):
        shape = tf.shape(image)
        h, w = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
        new_h = tf.cast(tf.maximum(load * h / w, float(crop)), tf.int32)
        keep = tf.logical_and(tf.equal(shape[1], load), shape[0] >= crop)
        image = tf.cond(keep, lambda: image, lambda: resize(image, tf.stack([new_h, load])))
    elif mode == "none":
        shape = tf.cast(tf.shape(image)[:2], tf.float64)
        target = tf.cast(tf.round(shape / 4.0) * 4.0, tf.int32)
        image = tf.cond(
            tf.reduce_all(tf.equal(target, tf.shape(image)[:2])),
            lambda: image,
            lambda: resize(image, target),
        )
    if mode.endswith("crop"):
        image = tf.image.stateless_random_crop(
            image, [crop, crop, channels], seed=tf.random.experimental.stateless_fold_in(seed, 0)
        )
    if config.flip:
        image = tf.image.stateless_random_flip_left_right(
            image, seed=tf.random.experimental.stateless_fold_in(seed, 1)
        )
    if config.rotate:
        turns = tf.random.stateless_uniform(
            [], tf.random.experimental.stateless_fold_in(seed, 2), 0, 4, dtype=tf.int32
        )
        image = tf.image.rot90(image, turns)
    return image


def resize(image, size):
    import tensorflow as tf

    # The reference resizes with PIL's bicubic; cubic overshoot is clipped back to [0, 1].
    return tf.clip_by_value(tf.image.resize(image, size, method="bicubic"), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# albumentations, from the recipe's `data.augment` list


def _transform(item, index: int):
    import albumentations as A

    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or "name" not in item:
        raise UserError(
            f"data.augment[{index}]: expected a mapping like {{name: ColorJitter, p: 0.5}}"
        )
    kwargs = {k: v for k, v in item.items() if k != "name"}
    cls = getattr(A, str(item["name"]), None)
    if not isinstance(cls, type) or not issubclass(cls, A.BasicTransform):
        raise UserError(
            f"data.augment[{index}]: unknown albumentations transform {item['name']!r} "
            "(see https://albumentations.ai/docs/)"
        )
    try:
        return cls(**kwargs)
    except Exception as exc:
        raise UserError(f"data.augment[{index}] {item['name']}: {exc}") from None


def build_augmentation(spec: list, paired: bool = False):
    """An albumentations Compose for the recipe's list; paired: `image_b` gets the same transform."""
    import albumentations as A

    if not isinstance(spec, list | tuple):
        raise UserError("data.augment must be a list of transforms, e.g. [{name: ColorJitter}]")
    transforms = [_transform(item, i) for i, item in enumerate(spec)]
    targets = {"image_b": "image"} if paired else {}
    return A.Compose(transforms, additional_targets=targets, seed=0, strict=False)


class Augmenter:
    """Applies a recipe's albumentations pipeline inside tf.data, deterministic per element.

    Each tf.data worker thread has its own copy of the pipeline, reseeded from the element's
    seed before every call, so the result depends on the element only, never on thread timing.
    """

    def __init__(self, spec: list, paired: bool):
        self.spec, self.paired = list(spec), paired
        self._local = threading.local()
        build_augmentation(self.spec, paired)  # fail early on a bad recipe

    def _pipeline(self):
        if not hasattr(self._local, "pipeline"):
            self._local.pipeline = build_augmentation(self.spec, self.paired)
        return self._local.pipeline

    def __call__(self, seed, a, b=None):
        import numpy as np

        pipeline = self._pipeline()
        pipeline.set_random_seed(int(np.uint32(seed)))
        if b is not None:
            out = pipeline(image=a, image_b=b)
            return out["image"].astype(np.float32), out["image_b"].astype(np.float32)
        return pipeline(image=a)["image"].astype(np.float32)

    def check_keeps_shape(self, shape) -> None:
        """Refuse transforms that change the crop's size (batches need one size)."""
        import numpy as np

        probe = np.full(shape, 0.5, np.float32)
        out = self(0, probe, probe) if self.paired else (self(0, probe),)
        if out[0].shape != tuple(shape):
            raise UserError(
                f"data.augment changes the image size {tuple(shape)} -> {out[0].shape}; "
                "use transforms that keep the size (the crop is done by data.preprocess)"
            )

    def tf_apply(self, seed, *images):
        """The numpy pipeline as a tf.numpy_function; shapes are kept."""
        import tensorflow as tf

        seed32 = tf.cast(tf.math.floormod(seed[0] * 1_000_003 + seed[1], 2**31 - 1), tf.int64)
        outputs = tf.numpy_function(
            lambda s, *xs: self(s, *xs), [seed32, *images], [tf.float32] * len(images),
            stateful=False,
        )
        outputs = [tf.ensure_shape(o, i.shape) for o, i in zip(outputs, images, strict=True)]
        return outputs if len(outputs) > 1 else outputs[0]
