"""tf.data batches from a resolved dataset: decode, the reference preprocessing, augmentation.

The batch sequence is a pure function of the seed: the epoch order comes from a stateless
shuffle seeded by (seed, epoch) and every element's crop, flip, unaligned B partner and
augmentation from a seed derived from its position. So the same seed gives the same batches
and `ds.skip(k)` resumes exactly where a run stopped. No global random state is used.
"""

from __future__ import annotations

import tensorflow as tf

from translate.data.augment import PREPROCESS_MODES, Augmenter, preprocess, resize
from translate.data.sources import DatasetSpec, ImageInfo, usable
from translate.errors import UserError


def _check_config(config) -> None:
    if config.preprocess not in PREPROCESS_MODES:
        raise UserError(
            f"data.preprocess={config.preprocess!r} is not valid; choose one of "
            + ", ".join(PREPROCESS_MODES)
        )
    if config.channels not in (1, 3):
        raise UserError(f"data.channels must be 1 or 3 (got {config.channels})")
    if config.crops_per_image < 1 or (
        config.crops_per_image > 1 and not config.preprocess.endswith("crop")
    ):
        raise UserError(
            f"data.crops_per_image={config.crops_per_image}: must be 1, or more with a crop "
            "preprocess (crop, resize_and_crop, scale_width_and_crop)"
        )
    if config.rotate and not config.preprocess.endswith("crop"):
        raise UserError("data.rotate turns square crops: use it with a crop preprocess")
    if config.preprocess in ("resize_and_crop", "scale_width_and_crop") and (
        config.load_size < config.crop_size
    ):
        raise UserError(
            f"data.load_size={config.load_size} is smaller than data.crop_size="
            f"{config.crop_size}; the crop must fit in the resized image"
        )


def _check_sizes(spec: DatasetSpec, infos: dict[str, list[ImageInfo]], config) -> None:
    """Errors that would otherwise stop training mid-epoch, found up front from the headers."""
    side_by_side = "AB" in infos
    for items in infos.values():
        for info in items:
            width = info.width // 2 if side_by_side else info.width
            if side_by_side and info.width % 2:
                raise UserError(
                    f"{info.path}: an aligned A|B image must have an even width (two halves "
                    f"side by side), this one is {info.width}x{info.height}"
                )
            if config.preprocess == "crop" and min(width, info.height) < config.crop_size:
                raise UserError(
                    f"{info.path}: {width}x{info.height} is smaller than data.crop_size="
                    f"{config.crop_size}; use data.preprocess=resize_and_crop or a smaller crop"
                )
    if config.preprocess in ("scale_width", "none") and config.batch_size > 1:
        sizes = {(i.width, i.height) for items in infos.values() for i in items}
        if len(sizes) > 1:
            raise UserError(
                f"dataset {spec.root}: data.preprocess={config.preprocess} keeps sizes that "
                f"differ between images, so data.batch_size must be 1 (or use "
                f"{config.preprocess}_and_crop)".replace("none_and_crop", "crop")
            )


def _orient(image, orientation):
    """Turn the stored pixels upright as the EXIF orientation says (as PIL's exif_transpose)."""

    def transpose():
        return tf.transpose(image, [1, 0, 2])

    branches = [
        lambda: image,
        lambda: tf.reverse(image, [1]),
        lambda: tf.reverse(image, [0, 1]),
        lambda: tf.reverse(image, [0]),
        transpose,
        lambda: tf.image.rot90(image, 3),
        lambda: tf.reverse(transpose(), [0, 1]),
        lambda: tf.image.rot90(image, 1),
    ]
    return tf.switch_case(tf.cast(orientation - 1, tf.int32), branches)


def decode(path, orientation, channels: int = 3):
    """One image file to an upright HxWxC float32 in [0, 1] (8- and 16-bit, gray, RGBA)."""
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=channels, dtype=tf.float32, expand_animations=False)
    return _orient(image, orientation)


def _index_stream(n: int, seed, shuffle: bool, repeat: bool):
    """(epoch, position, index) for every example; epochs reshuffled statelessly by (seed, e)."""
    seed = tf.constant(seed, tf.int64)
    epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)

    def one_epoch(epoch):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([seed, epoch]))
        positions = tf.range(n, dtype=tf.int64)
        element_seeds = tf.stack([tf.fill([n], seed), epoch * n + positions], axis=1)
        return tf.data.Dataset.from_tensor_slices((order, element_seeds))

    return epochs.flat_map(one_epoch)


def make_dataset(
    spec: DatasetSpec,
    split: str,
    config,
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = False,
    skip: int = 0,
) -> tf.data.Dataset:
    """Batches of float32 NHWC photos in [0, 1]: (input, target) pairs, or photos for `single`.

    The model's own space is the task's business (Task.to_model, make_pair), applied by fit.

    Unaligned data pairs every A with a B drawn at random (seeded), as the reference does, unless
    `serial_batches` (or `shuffle=False`), which pairs them in order. With `repeat`, epochs follow
    one another forever with incomplete batches dropped. `skip` starts after that many batches
    without decoding them (equal to `.skip(skip)` unless a file failed to decode on the way).
    """
    _check_config(config)
    infos = usable(spec, split, config)
    _check_sizes(spec, infos, config)
    channels = config.channels
    crops = config.crops_per_image
    if crops > 1 and spec.layout != "single":
        raise UserError(
            f"data.crops_per_image={crops} takes several crops of single images; dataset "
            f"{spec.root} is {spec.layout}: set data.crops_per_image=1"
        )
    ordered = config.serial_batches or not shuffle
    augmenter = None
    if config.augment:
        augmenter = Augmenter(config.augment, paired=spec.layout == "aligned")
        if config.preprocess.endswith("crop"):
            augmenter.check_keeps_shape((config.crop_size, config.crop_size, channels))

    def table(domain):
        items = infos[domain]
        return (tf.constant([str(i.path) for i in items]),
                tf.constant([i.orientation for i in items], tf.int32))

    def load(tables, index):
        paths, orientations = tables
        return decode(tf.gather(paths, index), tf.gather(orientations, index), channels)

    fold = tf.random.experimental.stateless_fold_in

    if spec.layout == "unaligned":
        a_table, b_table = table("A"), table("B")
        n_a, n_b = len(infos["A"]), len(infos["B"])
        n = max(n_a, n_b)

        def element(index, seed):
            if ordered:
                b_index = index % n_b
            else:
                b_index = tf.random.stateless_uniform(
                    [], seed=fold(seed, 7), minval=0, maxval=n_b, dtype=tf.int64
                )
            a = preprocess(load(a_table, index % n_a), fold(seed, 2), config)
            b = preprocess(load(b_table, b_index), fold(seed, 3), config)
            if augmenter:
                a = augmenter.tf_apply(fold(seed, 4), a)
                b = augmenter.tf_apply(fold(seed, 5), b)
            return a, b

    elif spec.layout == "aligned":
        n = len(next(iter(infos.values())))
        if "AB" in infos:
            ab_table = table("AB")

            def load_pair(index):
                ab = load(ab_table, index)
                half = tf.shape(ab)[1] // 2
                return ab[:, :half], ab[:, half : 2 * half]

        else:
            a_table, b_table = table("A"), table("B")

            def load_pair(index):
                a, b = load(a_table, index), load(b_table, index)
                b = tf.cond(
                    tf.reduce_all(tf.equal(tf.shape(a)[:2], tf.shape(b)[:2])),
                    lambda: b,
                    lambda: resize(b, tf.shape(a)[:2]),
                )
                return a, b

        def element(index, seed):
            a, b = load_pair(index)
            # The same seed on same-sized images: the identical crop and flip for A and B.
            a = preprocess(a, fold(seed, 2), config)
            b = preprocess(b, fold(seed, 2), config)
            if augmenter:
                a, b = augmenter.tf_apply(fold(seed, 4), a, b)
            return a, b

    else:
        image_table = table("image")
        n = len(infos["image"])

        def one_crop(image, seed):
            image = preprocess(image, seed, config)
            if augmenter:
                image = augmenter.tf_apply(fold(seed, 4), image)
            return image

        def element(index, seed):
            image = load(image_table, index)
            if crops == 1:
                return one_crop(image, fold(seed, 2))
            return tf.stack([one_crop(image, fold(fold(seed, 2), k)) for k in range(crops)])

    def directed(index, seed):
        out = element(index, seed)
        if isinstance(out, tuple) and config.direction == "BtoA":
            out = (out[1], out[0])
        return out

    skipped = skip * config.batch_size  # examples; with several crops, whole images then crops
    ds = _index_stream(n, seed, shuffle and not ordered, repeat).skip(skipped // crops)
    ds = ds.map(directed, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.ignore_errors(log_warning=True)  # a file that breaks only at decode: skip, go on
    if crops > 1:
        ds = ds.unbatch().skip(skipped % crops)
    ds = ds.batch(config.batch_size, drop_remainder=repeat, num_parallel_calls=tf.data.AUTOTUNE,
                  deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
