"""CUT and FastCUT as a model kind: options by mode, the PatchNCE loss, the anti-aliased layers,
a training step, and learning on the toy stripes (where the tiny CycleGAN loses the content)."""

import numpy as np
import pytest
import tensorflow as tf
from test_models import SIZE, content_kept, make, smooth_images, stripe_share, tiny

from translate.config import from_dict, resolve_config
from translate.errors import UserError
from translate.layers import BlurDownsample, BlurUpsample
from translate.losses import patch_nce
from translate.models import CUT, CUTOptions, model_class


def test_the_mode_sets_the_references_defaults():
    cut, fast = CUTOptions(), CUTOptions(mode="fastcut")
    assert (cut.nce_idt, cut.lambda_NCE, cut.flip_equivariance) == (True, 1.0, False)
    assert (fast.nce_idt, fast.lambda_NCE, fast.flip_equivariance) == (False, 10.0, True)
    assert CUTOptions(mode="fastcut", lambda_NCE=2.0).lambda_NCE == 2.0  # what is set wins
    assert (cut.init_type, cut.pool_size, cut.gan_mode, cut.num_patches) == ("xavier", 0, "lsgan", 256)
    assert model_class("cut") is CUT


@pytest.mark.parametrize("key, value, message", [
    ("mode", "slowcut", "model.mode"),
    ("nce_layers", "0,4,99", "model.nce_layers"),
    ("nce_layers", "a,b", "comma-separated"),
    ("netG", "unet_256", "ResNet generator"),
    ("nce_T", 0, "model.nce_T"),
    ("num_patches", 0, "model.num_patches"),
    ("netF", "conv", "model.netF"),
])
def test_bad_cut_options_are_one_line_errors(key, value, message):
    with pytest.raises(UserError, match=message):
        from_dict({"model": {"kind": "cut", key: value}})


def test_fit_cut_horse2zebra_takes_the_cut_recipe():
    config = resolve_config(model="cut", data="horse2zebra")
    assert (config.model.kind, config.model.mode, config.train.epochs) == ("cut", "cut", 200)
    fast = resolve_config(recipe="horse2zebra-fastcut")
    assert (fast.model.mode, fast.model.lambda_NCE, fast.train.epochs, fast.train.epochs_decay) \
        == ("fastcut", 10.0, 150, 50)


def reference_patch_nce(q, k, batch, t=0.07):
    """The loss written out per patch: -log softmax of (q.k+, q.k-...) / t, self pair at -10."""
    q, k = q.reshape(batch, -1, q.shape[-1]), k.reshape(batch, -1, k.shape[-1])
    out = np.zeros(q.shape[:2])
    for b in range(batch):
        sims = q[b] @ k[b].T
        for i in range(q.shape[1]):
            negatives = np.delete(sims[i], i)
            logits = np.concatenate([[sims[i, i]], negatives, [-10.0]]) / t
            out[b, i] = -logits[0] + np.log(np.exp(logits).sum())
    return out.mean(axis=1)


def test_patch_nce_is_the_contrastive_loss_it_says():
    rng = np.random.default_rng(0)
    q, k = (rng.normal(size=(2 * 6, 4)) for _ in "qk")
    q, k = q / np.linalg.norm(q, axis=1, keepdims=True), k / np.linalg.norm(k, axis=1, keepdims=True)
    ours = patch_nce(tf.constant(q), tf.constant(k), 2).numpy()
    np.testing.assert_allclose(ours, reference_patch_nce(q, k, 2), rtol=1e-10)
    same = patch_nce(tf.constant(k), tf.constant(k), 2).numpy()
    assert (same < ours).all()  # each patch recognising its own input is what lowers the loss


def test_blur_layers_keep_sizes_and_constants():
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 7, 9, 3)))
    assert BlurDownsample()(x).shape == (2, 4, 5, 3) and BlurUpsample()(x).shape == (2, 14, 18, 3)
    flat = tf.ones((1, 8, 8, 2), tf.float64)
    np.testing.assert_allclose(BlurDownsample()(flat), 1.0)  # normalised filters: no gain
    np.testing.assert_allclose(BlurUpsample()(flat), 1.0)


def test_a_cut_step_trains_g_d_and_f_and_reports_the_references_losses():
    model = make(tiny("cut", netF_nc=16, num_patches=32))
    a, b = (tf.constant(np.random.default_rng(s).uniform(-1, 1, (2, SIZE, SIZE, 3)), tf.float32)
            for s in (0, 1))
    before = {name: [v.numpy().copy() for v in net.trainable_variables]
              for name, net in model.networks().items()}
    logs = model.train_step((a, b))
    assert set(logs) == {"G_GAN", "D_real", "D_fake", "G", "NCE", "NCE_Y"}
    for name, net in model.networks().items():
        after = [v.numpy() for v in net.trainable_variables]
        assert any(not np.array_equal(x, y) for x, y in zip(before[name], after, strict=True)), name
    fast = make(tiny("cut", mode="fastcut", netF_nc=16, num_patches=32))
    assert "NCE_Y" not in fast.train_step((a, b))


@pytest.mark.slow
def test_cut_paints_the_stripes_and_keeps_the_content():
    """CUT on the toy of test_models (plain -> striped, 320 steps): the output carries the
    stripes' period and, the stripes averaged out, the input's own pattern (where the tiny
    CycleGAN paints input-blind stripes). Noise, the identity and input-blind stripes fail one
    of the two.

    D is a PatchGAN of 2 layers (a 34-px field on these 32-px images): the reference's 70-px
    `basic` sees the whole image, wins within ~30 steps, and whether G's stripes come at all
    then hung on rounding: on one CPU they did (0.95), on another not within 320 steps for
    2 of 3 seeds. With 2 layers, seeds 0-2 on that second CPU: stripes 0.82-0.88, content
    0.57-0.70 (the stripes come by step 256)."""
    rng = np.random.default_rng(0)
    stripes = np.where(np.arange(SIZE) % 4 < 2, 0.5, -0.5).astype("float32")[None, None, :, None]
    plain = smooth_images(rng, 32) * 0.5
    striped = np.clip(smooth_images(rng, 32) * 0.5 + stripes, -1, 1)
    model = make(tiny("cut", netD="n_layers", n_layers_D=2), steps_per_epoch=16, epochs=20)
    ds = tf.data.Dataset.from_tensor_slices((plain, striped)).shuffle(32, seed=0).batch(2)
    model.fit(ds, epochs=20, verbose=0)
    test = smooth_images(np.random.default_rng(1), 16) * 0.5
    out = model(test).numpy()

    def destriped(x):  # a 4-px horizontal box: the stripes' period averages to 0
        return sum(np.roll(x, k, axis=2) for k in range(4)) / 4

    noise = np.random.default_rng(2).uniform(-1, 1, test.shape)
    assert content_kept(destriped(noise), destriped(test)) < 0.2
    assert content_kept(destriped(striped[:16]), destriped(test)) < 0.2
    assert stripe_share(out) > 0.5, stripe_share(out)
    assert content_kept(destriped(out), destriped(test)) > 0.4
