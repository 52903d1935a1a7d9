"""The reference architectures, pinned: parameter counts, output shapes, receptive field."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from translate.layers import InstanceNormalization, ReflectionPadding2D
from translate.networks import (
    DISCRIMINATORS,
    GENERATORS,
    SR_GENERATORS,
    build_discriminator,
    build_generator,
    generator_size_multiple,
)


def trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


# Counted from the reference's layer sizes (PyTorch counts parameters only: batch-norm moving
# statistics are Keras non-trainable weights and are not in these numbers).
@pytest.mark.parametrize(
    "kind, name, kwargs, expected",
    [
        ("G", "resnet_9blocks", dict(norm="instance"), 11_378_179),
        ("G", "resnet_6blocks", dict(norm="instance"), 7_837_699),
        ("G", "unet_256", dict(norm="batch"), 54_413_955),
        ("G", "unet_128", dict(norm="batch"), 41_828_995),
        ("D", "basic", dict(input_channels=3, norm="instance"), 2_764_737),
        ("D", "basic", dict(input_channels=6, norm="batch"), 2_768_705),
        ("D", "pixel", dict(input_channels=6, norm="batch"), 9_024),
    ],
)
def test_parameter_counts_match_the_reference(kind, name, kwargs, expected):
    build = build_generator if kind == "G" else build_discriminator
    assert trainable_params(build(name, **kwargs)) == expected


def test_n_layers_discriminator_with_3_layers_is_basic():
    basic = build_discriminator("basic", 3, ndf=16)
    n3 = build_discriminator("n_layers", 3, ndf=16, n_layers=3)
    assert trainable_params(basic) == trainable_params(n3)
    assert trainable_params(build_discriminator("n_layers", 3, ndf=16, n_layers=5)) > trainable_params(n3)


@pytest.mark.parametrize("name", sorted(set(GENERATORS) - set(SR_GENERATORS)))
@pytest.mark.parametrize("scale", [1, 2])
def test_generators_keep_size_and_map_channels(name, scale):
    size = generator_size_multiple(name) * scale
    size = max(size, 32)
    g = build_generator(name, input_channels=1, output_channels=2, ngf=4, norm="instance")
    x = tf.random.uniform((1, size, size + generator_size_multiple(name), 1), -1, 1)
    y = g(x)
    assert y.shape == (1, size, size + generator_size_multiple(name), 2)
    assert float(tf.reduce_max(tf.abs(y))) <= 1.0  # tanh output range


@pytest.mark.parametrize("name", sorted(DISCRIMINATORS))
@pytest.mark.parametrize("size, expected", [(256, {"basic": 30, "n_layers": 30, "pixel": 256}),
                                            (128, {"basic": 14, "n_layers": 14, "pixel": 128})])
def test_discriminator_patch_map_sizes(name, size, expected):
    d = build_discriminator(name, input_channels=6, ndf=8, norm="batch")
    assert d(tf.zeros((2, size, size, 6))).shape == (2, expected[name], expected[name], 1)


def test_basic_discriminator_sees_a_70x70_patch():
    d = build_discriminator("basic", 3, ndf=8, norm="none")
    x = tf.random.normal((1, 128, 128, 3))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = d(x)
        centre = out[0, out.shape[1] // 2, out.shape[2] // 2, 0]
    grad = tf.reduce_sum(tf.abs(tape.gradient(centre, x)), axis=[0, 3]).numpy()
    rows, cols = np.nonzero(grad)
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70


def test_unet_refuses_sizes_that_are_not_multiples_of_its_depth():
    with pytest.raises(ValueError, match="multiples of 256"):
        build_generator("unet_256", image_size=200)
    build_generator("unet_128", ngf=4, image_size=(128, 384))  # fine


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="resnet_9blocks"):
        build_generator("resnet_10blocks")
    with pytest.raises(ValueError, match="instance"):
        build_discriminator("basic", norm="layer")


def test_dropout_only_changes_training_outputs():
    g = build_generator("unet_128", ngf=4, norm="batch", dropout=True)
    x = tf.random.uniform((1, 128, 128, 3), -1, 1)
    np.testing.assert_allclose(g(x, training=False), g(x, training=False))
    assert not np.allclose(g(x, training=True), g(x, training=True))


def test_weights_start_as_the_reference_initialises_them():
    g = build_generator("resnet_6blocks", ngf=32, init_gain=0.02)
    kernels = np.concatenate([w.numpy().ravel() for w in g.weights if "kernel" in w.path])
    biases = np.concatenate([w.numpy().ravel() for w in g.weights if "bias" in w.path])
    assert abs(kernels.std() - 0.02) < 0.001 and abs(kernels.mean()) < 0.001
    assert not biases.any()
    x = build_generator("resnet_6blocks", ngf=32, init_type="xavier", init_gain=1.0)
    assert x.count_params() == g.count_params()


def test_reflection_padding_and_instance_norm_match_numpy():
    x = np.random.rand(2, 5, 6, 3).astype("float32")
    padded = ReflectionPadding2D(2)(x).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], "reflect"))
    normed = InstanceNormalization()(x).numpy()
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(normed, (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)


def test_generator_survives_keras_save_and_load(tmp_path):
    g = build_generator("resnet_6blocks", ngf=4)
    path = tmp_path / "g.keras"
    g.save(path)
    g2 = keras.saving.load_model(path)
    x = tf.random.uniform((1, 32, 32, 3), -1, 1)
    np.testing.assert_allclose(g(x), g2(x), atol=1e-6)


def test_up_convolution_is_the_reference_transposed_conv_cropped_at_the_start():
    """ConvTranspose2d(k3, s2, p1, output_padding=1): the full output less its first row/col."""
    from translate.networks.blocks import UpConv3

    x = tf.random.normal((2, 7, 9, 5), seed=1)
    up = UpConv3(4)
    y = up(x)
    full = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="valid")
    full.build(x.shape)
    full.set_weights(up.get_weights())
    np.testing.assert_allclose(y.numpy(), full(x).numpy()[:, 1:, 1:, :], atol=1e-5)
    assert y.shape == (2, 14, 18, 4)


def test_fused_instance_norm_is_keras_group_norm_with_one_group_per_channel():
    """Our fused layer and GroupNormalization(groups=-1) agree, values and gradients."""
    x = tf.random.normal((3, 17, 9, 5), seed=2) * 3.0 + 1.0
    reference = keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5)
    ours = InstanceNormalization()
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b = ours(x), reference(x)
        loss_a, loss_b = tf.reduce_sum(a * tf.sin(x)), tf.reduce_sum(b * tf.sin(x))
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    np.testing.assert_allclose(tape.gradient(loss_a, x).numpy(), tape.gradient(loss_b, x).numpy(),
                               atol=1e-5)


def assert_same_values_and_gradients(ours_fn, conv_fn, x, kernel, weights, **tolerance):
    """ours_fn(x, kernel) equals conv_fn(x, kernel), and so do the gradients of a weighted sum of
    each with respect to x and kernel."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, kernel])
        ours, conv = ours_fn(x, kernel), conv_fn(x, kernel)
        loss_ours, loss_conv = tf.reduce_sum(ours * weights), tf.reduce_sum(conv * weights)
    np.testing.assert_allclose(ours.numpy(), conv.numpy(), atol=1e-4)
    grads = zip(tape.gradient(loss_ours, [x, kernel]), tape.gradient(loss_conv, [x, kernel]),
                strict=True)
    for a, b in grads:
        np.testing.assert_allclose(a.numpy(), b.numpy(), **tolerance)


@pytest.mark.parametrize("shape", [(1, 2, 2, 6), (2, 4, 2, 5), (3, 2, 4, 4)])
def test_small_down_conv_as_matmul_is_the_conv_values_and_gradients(shape):
    """The U-Net's innermost Conv2d(k4, s2, p1) runs as a matmul: same outputs, same gradients."""
    from translate.networks.cpu_kernels import down4_as_matmul

    x = tf.random.normal(shape, seed=3)
    kernel = tf.random.normal((4, 4, shape[-1], 7), seed=4)
    weights = tf.random.normal((shape[0], shape[1] // 2, shape[2] // 2, 7), seed=5)
    conv = lambda x, kernel: tf.nn.conv2d(x, kernel, 2, "SAME")  # noqa: E731
    assert_same_values_and_gradients(down4_as_matmul, conv, x, kernel, weights, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 1, 1, 6), (2, 2, 3, 5), (1, 4, 4, 3)])
def test_small_transposed_conv_as_matmul_is_the_transposed_conv(shape):
    """ConvTranspose2d(k4, s2, p1) as matmul + col2im: same outputs, same gradients."""
    from translate.networks.cpu_kernels import up4_as_matmul

    n, h, w, c = shape
    x = tf.random.normal(shape, seed=6)
    kernel = tf.random.normal((4, 4, 7, c), seed=7)
    weights = tf.random.normal((n, 2 * h, 2 * w, 7), seed=8)

    def conv(x, kernel):
        return tf.nn.conv2d_transpose(x, kernel, [n, 2 * h, 2 * w, 7], 2, "SAME")

    assert_same_values_and_gradients(up4_as_matmul, conv, x, kernel, weights, atol=1e-4)


def test_unet_gives_the_same_output_whichever_way_its_small_convs_run():
    """Static small shapes take the matmul path, dynamic ones the conv: one network, one answer."""
    from translate.networks.cpu_kernels import framework_convs

    g = build_generator("unet_128", ngf=4)
    x = tf.random.uniform((2, 128, 128, 3), -1, 1, seed=9)
    static = tf.function(lambda t: g(t, training=False))
    dynamic = tf.function(
        lambda t: g(t, training=False),
        input_signature=[tf.TensorSpec((None, None, None, 3))],
    )

    def op_types(fn):
        return {op.type for op in fn.get_concrete_function(x).graph.get_operations()}

    assert "MatMul" in op_types(static) and "MatMul" not in op_types(dynamic)
    with framework_convs():
        assert "MatMul" not in op_types(tf.function(lambda t: g(t, training=False)))
    np.testing.assert_allclose(static(x).numpy(), dynamic(x).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("kernel_shape", "method"),
    [((7, 7, 6, 3), "swapped"), ((4, 3, 5, 1), "swapped"), ((3, 3, 64, 64), "taps"),
     ((3, 3, 8, 8), "conv")],
)
def test_stride_one_conv_gradients_are_the_conv_gradients(kernel_shape, method):
    """Kernel gradients computed another way (few filters, 3x3 blocks): the same numbers."""
    from translate.networks.cpu_kernels import kernel_grad_method, stride1_conv2d

    assert kernel_grad_method(kernel_shape) == method
    x = tf.random.normal((2, 12, 11, kernel_shape[2]), seed=10)
    kernel = tf.random.normal(kernel_shape, seed=11)
    conv = lambda x, kernel: tf.nn.conv2d(x, kernel, 1, "VALID")  # noqa: E731
    weights = tf.random.normal(conv(x, kernel).shape, seed=12)
    assert_same_values_and_gradients(stride1_conv2d, conv, x, kernel, weights,
                                     rtol=1e-4, atol=2e-3)
