"""The reference's ImagePool (Shrivastava et al.): D also sees generated images of earlier steps.

The history lives in TF variables, so the pool works inside a compiled train step, under a
distribution strategy, and is saved with every checkpoint.
"""

from __future__ import annotations

import tensorflow as tf

_FIRST = tf.VariableAggregation.ONLY_FIRST_REPLICA


class ImagePool(tf.Module):
    """A buffer of up to `size` generated images; `query` returns what D should see.

    Per image, in batch order, as the reference: while the pool is filling, store the image and
    return it; once full, with probability 0.5 return a random stored image and put the new one in
    its place, else return the new image. size 0 returns the batch unchanged.

    Under a strategy every replica gathers the global batch and runs the same draws, so the pool
    stays identical on all replicas and matches a single-device run of the same global batch.
    The image buffer is made at the first query, when the image shape is known (a checkpoint
    restored before that is applied when it is made).
    """

    def __init__(self, size: int, name: str | None = None):
        super().__init__(name=name)
        self.size = int(size)
        self.count = tf.Variable(0, dtype=tf.int32, trainable=False, aggregation=_FIRST,
                                 name="count")
        self.images = None

    def _buffer(self, image_shape: tf.TensorShape) -> tf.Variable:
        if self.images is None:
            if not image_shape.is_fully_defined():
                raise ValueError(
                    f"ImagePool needs images of a fixed size (got {image_shape}); crop or resize "
                    "the training images to one size"
                )
            with tf.init_scope():
                self.images = tf.Variable(
                    tf.zeros([self.size, *image_shape], tf.float32), trainable=False,
                    aggregation=_FIRST, name="images",
                )
        return self.images

    def query(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """The images D should see for this batch; `seed` is a [2] int tensor for the draws."""
        if self.size <= 0:
            return images
        images = tf.cast(images, tf.float32)
        buffer = self._buffer(images.shape[1:])
        context = tf.distribute.get_replica_context()
        local_n = tf.shape(images)[0]
        batch = context.all_gather(images, axis=0) if context else images
        n = tf.shape(batch)[0]
        swap = tf.random.stateless_uniform([n], seed=seed) > 0.5
        slots = tf.random.stateless_uniform(
            [n], seed=seed + [0, 1], minval=0, maxval=self.size, dtype=tf.int32
        )

        def one_image(i, pool, count, out):
            filling = count < self.size
            use_old = tf.logical_and(tf.logical_not(filling), swap[i])
            slot = tf.where(filling, count, slots[i])
            old = pool[slot]
            kept = tf.where(tf.logical_or(filling, use_old), batch[i], old)
            pool = tf.tensor_scatter_nd_update(pool, [[slot]], kept[None])
            out = out.write(i, tf.where(use_old, old, batch[i]))
            return i + 1, pool, count + tf.cast(filling, tf.int32), out

        _, pool, count, out = tf.while_loop(
            lambda i, *_: i < n,
            one_image,
            (0, buffer.read_value(), self.count.read_value(),
             tf.TensorArray(tf.float32, size=n, element_shape=images.shape[1:])),
        )
        buffer.assign(pool)
        self.count.assign(count)
        chosen = out.stack()
        if context is None:
            return chosen
        start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local_n
        return chosen[start : start + local_n]
