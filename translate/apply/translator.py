"""Translator: numpy photo(s) in [0, 1] -> numpy photo(s) in [0, 1], whole or in tiles.

The task's pre/post-processing and reflect padding to the size multiple around one generator
(a Keras model or an export's signature). Tiling blends overlapping tiles in the model's output
space with linear ramps, so a tiled run matches a whole-image run away from the borders for
models whose output depends on a bounded neighbourhood. Instance-norm generators normalise each
tile with its own statistics, so their tiles can differ more than batch-norm or norm-free ones:
prefer whole images (no --tile) there.
"""

from __future__ import annotations

import numpy as np

from translate.errors import UserError
from translate.padding import pad_amounts, reflect_indices

DEFAULT_FALLBACK_TILE = 512  # tile size when a whole image does not fit in memory


def tile_starts(size: int, tile: int, step: int) -> list[int]:
    """Tile origins covering [0, size): every `step`, the last one flush with the end."""
    if size <= tile:
        return [0]
    return list(range(0, size - tile, step)) + [size - tile]


def ramp_weights(starts: list[int], tile: int, size: int, scale: int) -> list[np.ndarray]:
    """Per tile, a 1-D blending weight at output resolution: linear ramps across each overlap.

    Ramps run only where a neighbour overlaps (image borders keep weight 1); in an overlap of
    length L the two ramps sum to 1, and the caller divides by the total weight anyway.
    """
    weights = []
    for i, start in enumerate(starts):
        t = min(tile, size) * scale
        w = np.ones(t, np.float32)
        pos = np.arange(t, dtype=np.float32) + 0.5
        before = (starts[i - 1] + tile - start) * scale if i > 0 else 0
        after = (start + tile - starts[i + 1]) * scale if i < len(starts) - 1 else 0
        if before > 0:
            w = np.minimum(w, pos / before)
        if after > 0:
            w = np.minimum(w, (t - pos) / after)
        weights.append(w)
    return weights


def to_rgb01(image: np.ndarray) -> np.ndarray:
    """Any decoded image (HxW, HxWx1..4, uint8/uint16/float) -> float32 HxWx3 RGB in [0, 1]."""
    if image.ndim == 2:
        image = image[..., None]
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    else:
        image = image.astype(np.float32, copy=False)
    channels = image.shape[-1]
    if channels in (1, 2):  # gray, gray + alpha
        return np.repeat(image[..., :1], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


class Translator:
    """A generator and its task as a photo -> photo function on numpy arrays.

    forward: model-space float32 NHWC batch -> model-space batch (a Keras generator called with
    training=False, or a SavedModel function). Images are reflect-padded (centred) to the size
    multiple and cropped back; with `tile`, images larger than it go through overlapping tiles
    of that size (rounded up to the size multiple), `tile_overlap` pixels apart at least.
    """

    def __init__(
        self,
        forward,
        task,
        size_multiple: int,
        tile: int | None = None,
        tile_overlap: int = 32,
        batch_size: int = 1,
    ):
        import tensorflow as tf

        self.task = task
        self.made_by = ""  # what the forward function is (a run or export, its checkpoint)
        self.scale = int(getattr(task, "scale", 1))
        self.size_multiple = max(1, int(size_multiple))
        self.batch_size = max(1, int(batch_size))
        self.tile_overlap = int(tile_overlap)
        if self.tile_overlap < 0:
            raise UserError(f"--tile-overlap {tile_overlap}: must be 0 or more pixels")
        self.tile = None if tile is None else self._round_tile(int(tile))
        self.fallbacks = 0  # batches that ran out of memory whole and went through tiles
        self._forward = forward
        self._model = tf.function(self._run_model, reduce_retracing=True)
        photos = tf.TensorSpec([None, None, None, 3], tf.float32)
        self._whole = tf.function(self._translate_whole, input_signature=[photos])

    def _round_tile(self, tile: int) -> int:
        m = self.size_multiple
        if tile < 1:
            raise UserError(f"--tile {tile}: give a tile size in pixels, e.g. --tile 512")
        tile = -(-tile // m) * m
        if tile - self.tile_overlap < m:
            raise UserError(
                f"--tile {tile} with --tile-overlap {self.tile_overlap}: tiles must advance by at "
                f"least the generator's size multiple {m}; use a larger --tile or smaller overlap"
            )
        return tile

    @property
    def tile_step(self) -> int:
        """Distance between tile origins: a multiple of the size multiple, so tiles see the
        network's downsampling grid exactly as the whole image does."""
        m = self.size_multiple
        return max(m, (self.tile - self.tile_overlap) // m * m)

    def _run_model(self, batch):
        return self._forward(batch)

    def _translate_whole(self, images):
        import tensorflow as tf

        from translate.padding import reflect_pad_to_multiple

        s = self.scale
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        padded, top, left = reflect_pad_to_multiple(images, self.size_multiple)
        output = self._run_model(self.task.to_model(padded))
        output = output[:, s * top : s * (top + height), s * left : s * (left + width)]
        return self.task.from_model(output, images)

    def __call__(self, image01: np.ndarray) -> np.ndarray:
        """One HxWxC photo in [0, 1] -> HxWx3 (x task.scale) photo in [0, 1]."""
        return self.translate_batch(np.asarray(image01)[None])[0]

    def translate_batch(self, images01: np.ndarray) -> np.ndarray:
        """NxHxWxC photos of one size in [0, 1] -> Nx(H*scale)x(W*scale)x3 photos in [0, 1]."""
        images = np.asarray(images01)
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[-1] == 3 and images.dtype.kind == "f":
            photos = images.astype(np.float32, copy=False)
        else:  # gray, alpha, or 8/16-bit integers
            photos = np.stack([to_rgb01(image) for image in images])
        height, width = photos.shape[1:3]
        m = self.size_multiple
        padded_h, padded_w = -(-height // m) * m, -(-width // m) * m
        if self.tile is not None and max(padded_h, padded_w) > self.tile:
            return np.stack([self._translate_tiled(photo, self.tile) for photo in photos])
        outputs = []
        for i in range(0, len(photos), self.batch_size):
            chunk = photos[i : i + self.batch_size]
            try:
                outputs.append(self._whole(chunk).numpy())
            except Exception as exc:  # out of memory: the same image in tiles
                if type(exc).__name__ != "ResourceExhaustedError":
                    raise
                self.fallbacks += 1
                tile = self._round_tile(max(DEFAULT_FALLBACK_TILE, 2 * self.size_multiple))
                outputs.append(np.stack([self._translate_tiled(p, tile) for p in chunk]))
        return np.concatenate(outputs)

    def _translate_tiled(self, photo: np.ndarray, tile: int) -> np.ndarray:
        """One HxWx3 photo through overlapping tiles, blended in the model's output space."""
        import tensorflow as tf

        s, m = self.scale, self.size_multiple
        height, width = photo.shape[:2]
        top, bottom = pad_amounts(height, m)
        left, right = pad_amounts(width, m)
        padded = photo[reflect_indices(height, top, bottom)][:, reflect_indices(width, left, right)]
        model_input = np.asarray(self.task.to_model(tf.constant(padded[None])))[0]
        padded_h, padded_w = padded.shape[:2]
        step = max(m, (tile - self.tile_overlap) // m * m)
        ys, xs = tile_starts(padded_h, tile, step), tile_starts(padded_w, tile, step)
        wy = ramp_weights(ys, tile, padded_h, s)
        wx = ramp_weights(xs, tile, padded_w, s)
        th, tw = min(tile, padded_h), min(tile, padded_w)
        total = weight_sum = None
        boxes = [(i, j) for i in range(len(ys)) for j in range(len(xs))]
        for k in range(0, len(boxes), self.batch_size):
            chunk = boxes[k : k + self.batch_size]
            tiles = np.stack(
                [model_input[ys[i] : ys[i] + th, xs[j] : xs[j] + tw] for i, j in chunk]
            )
            outs = np.asarray(self._model(tf.constant(tiles)))
            if total is None:
                total = np.zeros((padded_h * s, padded_w * s, outs.shape[-1]), np.float32)
                weight_sum = np.zeros((padded_h * s, padded_w * s, 1), np.float32)
            for (i, j), out in zip(chunk, outs, strict=True):
                w = (wy[i][:, None] * wx[j][None, :])[..., None]
                y0, x0 = ys[i] * s, xs[j] * s
                total[y0 : y0 + th * s, x0 : x0 + tw * s] += out * w
                weight_sum[y0 : y0 + th * s, x0 : x0 + tw * s] += w
        blended = (total / weight_sum)[s * top : s * (top + height), s * left : s * (left + width)]
        return np.asarray(
            self.task.from_model(tf.constant(blended[None]), tf.constant(photo[None]))
        )[0]
