"""Same weights, same numbers as the PyTorch reference (junyanz/pytorch-CycleGAN-and-pix2pix).

The reference in ../shared/reference is imported as an oracle (never copied). Measured on this
machine, the largest differences are printed by each test (`pytest -s -k reference`) and kept
in the closing note of issue 14.
"""

import re
import warnings

import numpy as np
import pytest
from conftest import REPO

torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")
REF_DIR = REPO.parent / "shared" / "reference" / "pytorch-CycleGAN-and-pix2pix"
if not (REF_DIR / "models" / "networks.py").is_file():
    pytest.skip(f"the reference checkout is absent ({REF_DIR})", allow_module_level=True)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from translate.errors import UserError  # noqa: E402
from translate.networks import build_discriminator, build_generator  # noqa: E402
from translate.reference import convert  # noqa: E402
from translate.reference.oracle import (  # noqa: E402
    ReferencePair,
    floatx,
    load_reference,
    to_nchw,
)

warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
NORMS = ("instance", "batch", "none")


@pytest.fixture(scope="module")
def reference():
    return load_reference(REF_DIR)


def build_pair(reference, name, norm, ngf=64, dropout=False, n_layers=3):
    """The reference's network (its own init) and ours with its weights converted."""
    torch.manual_seed(0)
    if name in convert.REFERENCE_GENERATORS:
        theirs = reference.networks.define_G(3, 3, ngf, name, norm, dropout, "normal", 0.02, [])
        ours = build_generator(name, 3, 3, norm=norm, ngf=ngf, dropout=dropout)
        layout = {"name": name, "norm": norm, "dropout": dropout}
    else:
        theirs = reference.networks.define_D(6, ngf, name, n_layers, norm, "normal", 0.02, [])
        ours = build_discriminator(name, 6, norm=norm, ndf=ngf, n_layers=n_layers)
        layout = {"name": name, "norm": norm, "n_layers": n_layers}
    with torch.no_grad():  # running statistics that are not the trivial 0 and 1
        for key, value in theirs.state_dict().items():
            if key.endswith("running_mean"):
                value.copy_(torch.randn_like(value) * 0.1)
            elif key.endswith("running_var"):
                value.copy_(torch.rand_like(value) + 0.5)
    convert.load_state_dict(ours, theirs.state_dict(), **layout)
    return theirs, ours, layout


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", convert.REFERENCE_NETWORKS)
def test_tensor_names_and_shapes_are_the_references(reference, name, norm):
    for dropout in (False, True) if name.startswith("resnet") else (False,):
        theirs, ours, layout = build_pair(reference, name, norm, ngf=8, dropout=dropout, n_layers=4)
        mine = convert.state_dict(ours, **layout)
        assert list(mine) == list(theirs.state_dict())
        for key, value in theirs.state_dict().items():
            assert mine[key].shape == tuple(value.shape), key
            np.testing.assert_array_equal(mine[key], value.numpy())  # the round trip


SIZES = {"unet_256": (256, 256), "unet_128": (128, 128)}


@pytest.mark.slow
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", convert.REFERENCE_NETWORKS)
def test_forward_equals_the_reference(reference, name, norm):
    """Full-size networks, both modes: eval (running statistics) and train (batch statistics,
    which also move the running statistics: PyTorch's unbiased variance)."""
    theirs, ours, layout = build_pair(reference, name, norm, n_layers=4)
    generator = name in convert.REFERENCE_GENERATORS
    sizes = [SIZES[name]] if name in SIZES else [(256, 256), (192, 320)] if generator else [(70, 94)]
    rng = np.random.default_rng(0)
    worst = 0.0
    for height, width in sizes:
        x = rng.uniform(-1, 1, (2, height, width, 3 if generator else 6)).astype("float32")
        for training in (False, True):
            theirs.train(training)
            with torch.no_grad():
                expected = theirs(to_nchw(x)).numpy().transpose(0, 2, 3, 1)
            got = ours(x, training=training).numpy()
            diff = float(np.max(np.abs(got - expected)) / max(1.0, np.max(np.abs(expected))))
            worst = max(worst, diff)
            assert diff < 1e-4, (height, width, training)
    after = convert.state_dict(ours, **layout)
    for key, value in theirs.state_dict().items():
        if "running" in key:
            np.testing.assert_allclose(after[key], value.numpy(), rtol=1e-5, atol=1e-6)
    print(f"{name} {norm}: max |ours - reference| / max(1, |reference|) = {worst:.2e}")


def test_a_checkpoint_that_does_not_fit_names_the_tensor(reference):
    theirs, ours, layout = build_pair(reference, "resnet_6blocks", "instance", ngf=8)
    state = theirs.state_dict()
    with pytest.raises(UserError, match=r"tensor model\.1\.weight has shape \(8, 3, 7, 7\).*"
                                        r"needs \(16, 3, 7, 7\)"):
        convert.load_state_dict(build_generator("resnet_6blocks", 3, 3, ngf=16), state, **layout)
    with pytest.raises(UserError, match=r"no tensor model\.1\.bias"):
        convert.load_state_dict(ours, {k: v for k, v in state.items() if k != "model.1.bias"},
                                **layout)
    unet = build_generator("unet_128", 3, 3, ngf=8)
    with pytest.raises(UserError, match=r"tensor model\.1\.bias \(8,\) is not part of the "
                                        r"reference's unet_128"):
        convert.load_state_dict(unet, state, "unet_128", "instance")


def test_published_checkpoints_layouts_load(reference):
    """What old published models carry: DataParallel's `module.` prefix, PyTorch < 0.4's
    instance-norm running statistics, no num_batches_tracked; a dropout generator's names."""
    theirs, ours, layout = build_pair(reference, "resnet_6blocks", "instance", ngf=8, dropout=True)
    state = {f"module.{k}": v for k, v in theirs.state_dict().items()}
    state["module.model.2.running_mean"] = torch.zeros(8)
    state["module.model.2.running_var"] = torch.ones(8)
    assert convert.resnet_dropout(state)
    fresh = build_generator("resnet_6blocks", 3, 3, ngf=8, dropout=True)
    convert.load_state_dict(fresh, state, **layout)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(fresh(x).numpy(), ours(x).numpy())
    assert not convert.resnet_dropout(build_pair(reference, "resnet_6blocks", "batch", 8)[0]
                                      .state_dict())


@pytest.mark.parametrize("dtype, atol", [("float32", 1e-7), ("float64", 1e-10)])
def test_adam_steps_are_torchs(dtype, atol):
    """PyTorch's epsilon placement: with gradients near epsilon, Keras's Adam moves elsewhere.
    (float32: a few ulps; float64: Keras keeps the learning rate in float32, 2e-4 * (1 + 5e-9).)"""
    from translate.models.adam import FusedAdam

    rng = np.random.default_rng(0)
    start = rng.normal(size=(64,)).astype(dtype)
    grads = [(rng.normal(size=start.shape) * 10.0 ** rng.uniform(-10, -2, 64)).astype(dtype)
             for _ in range(5)]
    param = torch.nn.Parameter(torch.from_numpy(start.copy()))
    optimizer = torch.optim.Adam([param], lr=2e-4, betas=(0.5, 0.999))
    ours, keras_adam = keras.Variable(start), keras.Variable(start)
    fused, plain = FusedAdam(2e-4, 0.5, 0.999), keras.optimizers.Adam(2e-4, 0.5, 0.999)
    fused.build([ours])
    plain.build([keras_adam])
    for grad in grads:
        param.grad = torch.from_numpy(grad)
        optimizer.step()
        fused.apply_gradients([(tf.constant(grad), ours)])
        plain.apply_gradients([(tf.constant(grad), keras_adam)])
    expected = param.detach().numpy()
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=atol)
    assert np.max(np.abs(keras_adam.numpy() - expected)) > 1e-5  # the test can tell them apart


def test_learning_rate_follows_the_references_scheduler(reference):
    """After N epochs (the reference steps its scheduler once an epoch) both give the same lr."""
    import types

    from translate.models.schedule import ConstantThenLinearDecay

    opt = types.SimpleNamespace(lr_policy="linear", epoch_count=1, n_epochs=3, n_epochs_decay=4)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    scheduler = reference.networks.get_scheduler(optimizer, opt)
    steps_per_epoch = 5
    ours = ConstantThenLinearDecay(2e-4, steps_per_epoch, epochs=3, epochs_decay=4)
    seen = []
    for epoch in range(8):
        for step in (epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch - 1):
            np.testing.assert_allclose(float(ours(step)), optimizer.param_groups[0]["lr"],
                                       rtol=1e-6)
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen[0] == seen[2] == 2e-4 and seen[3] < 2e-4 and seen[-1] < seen[-2]


PIX2PIX = ["--model", "pix2pix", "--netG", "unet_256", "--norm", "batch", "--gan_mode",
           "vanilla", "--no_dropout", "--direction", "BtoA", "--pool_size", "0"]
CYCLEGAN = ["--model", "cycle_gan", "--netG", "resnet_9blocks", "--norm", "instance",
            "--gan_mode", "lsgan", "--lambda_identity", "0.5", "--pool_size", "0"]


def train_both(tmp_path, argv, size, dtype, iterations=5):
    """Losses of each iteration, ours and the reference's, and the weight differences after the
    first and the last, on the same random batches from the same weights."""
    pair = ReferencePair.create(REF_DIR, argv, tmp_path, dtype=dtype)
    rng = np.random.default_rng(0)
    losses, weights = [], []
    for i in range(iterations):
        a, b = (rng.uniform(-1, 1, (1, size, size, 3)) for _ in "ab")
        losses.append(pair.step(a, b))
        if i in (0, iterations - 1):
            weights.append(pair.weight_differences())
    return losses, weights


def relative(ours, theirs):
    return {k: abs(ours[k] - v) / max(abs(v), 1e-8) for k, v in theirs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("argv, size", [(PIX2PIX, 256), (CYCLEGAN, 64)],
                         ids=["pix2pix", "cyclegan"])
def test_training_iterations_equal_the_references(tmp_path, argv, size):
    """One and five full iterations (optimize_parameters vs train_step) in float64, where the
    only differences left are the maths: every loss to 1e-4 relative, every weight after the
    first and the fifth iteration to a hundredth of the learning rate."""
    losses, weights = train_both(tmp_path, argv, size, "float64")
    worst = [max(relative(*step).values()) for step in losses]
    print(f"{argv[1]} float64: loss differences per iteration {[f'{w:.1e}' for w in worst]}, "
          f"max weight difference after 1: {max(weights[0].values()):.1e}, "
          f"after 5: {max(weights[1].values()):.1e}")
    assert set(losses[0][0]) == set(losses[0][1])  # the same losses reported, by name
    assert max(worst) < 1e-4
    assert max(weights[0].values()) < 2e-6  # measured: pix2pix 2.8e-12, cyclegan 3.0e-10
    # measured: pix2pix 8.5e-9, cyclegan 5.8e-10 (6.3e-6, 8.3e-9 with a float32 learning rate)
    assert max(weights[1].values()) < 2e-6


@pytest.mark.slow
def test_float32_training_differs_from_the_reference_only_by_rounding(tmp_path):
    """In float32 Adam's first step, lr * g / |g|, flips for weights whose gradient is rounding
    noise, in either framework; the losses still agree after one iteration."""
    losses, weights = train_both(tmp_path, CYCLEGAN, 64, "float32", iterations=1)
    worst = max(relative(*losses[0]).values())
    print(f"cyclegan float32: loss difference after 1 iteration {worst:.1e}")
    assert worst < 1e-4


def test_floatx_is_restored_and_wins_over_a_set_policy():
    keras.mixed_precision.set_global_policy("float32")  # as a fit earlier in the process does
    with floatx("float64"):
        assert keras.config.floatx() == "float64"
        assert keras.layers.Dense(1).compute_dtype == "float64"
    assert keras.config.floatx() == "float32"
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
def test_imported_checkpoints_translate_a_photo_as_the_reference_does(
    reference, tmp_path, shared_data
):
    """The reference's save_networks -> `translate import` -> `translate apply` gives, on a real
    facade photo, the image its test.py path gives (tensor2im truncates, we round: 1 level);
    `export` and `evaluate` take the imported run as they are."""
    from PIL import Image
    from typer.testing import CliRunner

    from translate.cli import app
    from translate.reference.oracle import reference_options

    opt = reference_options(reference, CYCLEGAN, tmp_path)
    torch.manual_seed(1)
    theirs = reference.models.create_model(opt)
    theirs.setup(opt)
    theirs.save_networks("latest")
    saved = tmp_path / "checkpoints" / opt.name
    files = [str(saved / f"latest_net_{n}.pth") for n in ("G_A", "G_B", "D_A", "D_B")]

    runner = CliRunner()
    result = runner.invoke(app, ["import", *files, "--model", "cyclegan", "--project",
                                 str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / f"{opt.name}-1"
    assert "directions AtoB, BtoA" in result.output

    photo = shared_data / "facades" / "testA" / "1.jpg"
    result = runner.invoke(app, ["apply", str(run), str(photo), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    ours = np.asarray(Image.open(next((tmp_path / "out").iterdir())).convert("RGB"), np.int16)

    # The reference's test path for a 256x256 photo: ToTensor, Normalize(0.5, 0.5), netG,
    # util.tensor2im (its own function, imported from the checkout).
    x = np.asarray(Image.open(photo).convert("RGB"), np.float32)[None] / 255.0 * 2.0 - 1.0
    with torch.no_grad():
        fake = theirs.netG_A(to_nchw(x))
    expected = reference.util.tensor2im(fake).astype(np.int16)
    assert ours.shape == expected.shape == (256, 256, 3)
    assert np.max(np.abs(ours - expected)) <= 1
    assert np.std(expected) > 1  # a real image, not a constant

    result = runner.invoke(app, ["export", str(run), str(tmp_path / "serving")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", str(run), str(shared_data / "facades"),
                                 "--max-images", "2", "--inception-weights", "random",
                                 "--out", str(tmp_path / "eval.json")])
    assert result.exit_code == 0, result.output


def test_import_refuses_what_it_cannot_use(reference, tmp_path):
    from typer.testing import CliRunner

    from translate.cli import app

    torch.manual_seed(0)
    net = reference.networks.define_G(3, 3, 64, "resnet_6blocks", "instance", False, "normal",
                                      0.02, [])
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    runner = CliRunner()
    cases = [
        (["--model", "cyclegan"], r"latest_net_G.pth: tensor model\.16\.bias \(128,\) is not part "
                                  "of the reference's resnet_9blocks"),
        (["--model", "cyclegan", "--netG", "unet_256"], "is not part of the reference's unet_256"),
        (["--model", "gan"], "--model gan: choose one of cyclegan, pix2pix"),
    ]
    for options, message in cases:
        result = runner.invoke(app, ["import", str(tmp_path / "latest_net_G.pth"), *options,
                                     "--project", str(tmp_path / "runs")])
        assert result.exit_code != 0
        assert isinstance(result.exception, UserError)
        assert re.search(message, str(result.exception)), str(result.exception)
    result = runner.invoke(app, ["import", str(tmp_path / "notes.pth"), "--model", "cyclegan"])
    assert "not a PyTorch checkpoint" in str(result.exception)
    assert not (tmp_path / "runs").exists()  # nothing half-written

    result = runner.invoke(app, ["import", str(tmp_path / "latest_net_G.pth"), "--model",
                                 "cyclegan", "--netG", "resnet_6blocks", "--name", "h2z",
                                 "--project", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "directions AtoB" in result.output and "BtoA" not in result.output
    import cv2

    cv2.imwrite(str(tmp_path / "photo.png"), np.full((64, 64, 3), 128, np.uint8))
    result = runner.invoke(app, ["apply", str(tmp_path / "runs" / "h2z-1"),
                                 str(tmp_path / "photo.png"), str(tmp_path / "out"),
                                 "--direction", "BtoA"])
    assert "imported without the BtoA generator" in str(result.exception)
