"""GAN and reconstruction losses, per example.

Every function returns one value per example (shape [batch]), so the train step can average it
over the *global* batch with `tf.nn.compute_average_loss` and stay correct under any number of
replicas. Keras Loss objects are not used here: they divide by the replica count on their own.
"""

from __future__ import annotations

import tensorflow as tf

from translate.layers import float_dtype

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgangp")


def per_example_mean(x: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch axis, in float32 (float64 for a float64 model)."""
    x = tf.cast(x, float_dtype())
    return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def l1(prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean absolute error per example (the reference's nn.L1Loss, before the batch mean)."""
    return per_example_mean(tf.abs(tf.cast(prediction, float_dtype()) - tf.cast(target, float_dtype())))


class GANLoss:
    """The reference's GANLoss by name: vanilla (BCE on logits), lsgan (MSE), wgangp, plus hinge.

    `loss(logits, target_is_real)` is what a discriminator pays for one side; the generator calls
    `loss(D(fake), True, for_discriminator=False)`. Hinge is the only mode where the two differ:
    D pays relu(1 -+ logits), G pays -logits.
    """

    def __init__(self, mode: str = "lsgan"):
        if mode not in GAN_MODES:
            raise ValueError(f"unknown gan_mode {mode!r}; choose one of {', '.join(GAN_MODES)}")
        self.mode = mode

    def __call__(
        self, logits: tf.Tensor, target_is_real: bool, for_discriminator: bool = True
    ) -> tf.Tensor:
        logits = tf.cast(logits, float_dtype())
        if self.mode == "vanilla":
            target = tf.ones_like(logits) if target_is_real else tf.zeros_like(logits)
            loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits)
        elif self.mode == "lsgan":
            loss = tf.square(logits - (1.0 if target_is_real else 0.0))
        elif self.mode == "wgangp":
            loss = -logits if target_is_real else logits
        elif for_discriminator:  # hinge
            loss = tf.nn.relu(1.0 - logits) if target_is_real else tf.nn.relu(1.0 + logits)
        else:
            loss = -logits
        return per_example_mean(loss)


def gradient_penalty(discriminator, real: tf.Tensor, fake: tf.Tensor, seed) -> tf.Tensor:
    """WGAN-GP (Gulrajani et al.): (||grad D(x)||_2 - 1)^2 per example at x between real and fake.

    As the reference's cal_gradient_penalty('mixed'): one uniform mixing weight per example.
    """
    real, fake = tf.cast(real, float_dtype()), tf.cast(fake, float_dtype())
    alpha = tf.random.stateless_uniform([tf.shape(real)[0], 1, 1, 1], seed=seed)
    mixed = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        logits = tf.cast(discriminator(mixed, training=True), float_dtype())
    grads = tape.gradient(logits, mixed)
    grads = tf.reshape(grads, [tf.shape(grads)[0], -1])
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-16)
    return tf.square(norm - 1.0)


def patch_nce(
    feat_q: tf.Tensor, feat_k: tf.Tensor, batch_size, temperature: float = 0.07,
    negatives_from_minibatch: bool = False,
) -> tf.Tensor:
    """PatchNCE (Park et al. 2020): each output patch q must pick its own input patch k out of
    the other sampled patches of the same image (InfoNCE, cross-entropy with the positive first).

    feat_q, feat_k: [batch * patches, dim], L2-normalised, example-major; k carries no gradient.
    Negatives come from the same image, or from the whole minibatch (single-image translation).
    Returns the loss per example ([batch]: the mean over its patches). As the reference's
    PatchNCELoss, a patch's similarity with itself among the negatives is set to -10.
    """
    feat_k = tf.stop_gradient(feat_k)
    dim = tf.shape(feat_q)[-1]
    positive = tf.reduce_sum(feat_q * feat_k, axis=-1, keepdims=True)
    groups = 1 if negatives_from_minibatch else batch_size
    q = tf.reshape(feat_q, [groups, -1, dim])
    k = tf.reshape(feat_k, [groups, -1, dim])
    negatives = tf.matmul(q, k, transpose_b=True)
    self_pairs = tf.eye(tf.shape(q)[1], dtype=tf.bool)[None]
    negatives = tf.where(self_pairs, tf.cast(-10.0, negatives.dtype), negatives)
    negatives = tf.reshape(negatives, [-1, tf.shape(q)[1]])
    logits = tf.concat([positive, negatives], axis=1) / temperature
    # The positive sits at index 0: its cross-entropy is logsumexp(logits) - logits[:, 0].
    per_patch = tf.reduce_logsumexp(logits, axis=1) - logits[:, 0]
    return tf.reduce_mean(tf.reshape(per_patch, [batch_size, -1]), axis=1)


__all__ = ["GAN_MODES", "GANLoss", "gradient_penalty", "l1", "patch_nce", "per_example_mean"]
