"""`translate apply`: photos of any size through a generator, folders in, folders out."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import write_run

from translate.apply import Translator, apply_folder, load_translator
from translate.config import Config, TrainConfig
from translate.data.imageio import read_image, write_image_atomic
from translate.errors import UserError
from translate.models import CycleGANOptions, Pix2PixOptions
from translate.networks import build_generator
from translate.runs import RunDir
from translate.tasks import TaskConfig, get_task

TRANSLATION = get_task(TaskConfig())
rng = np.random.default_rng(0)


def smooth_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like float32 HxWx3 image in [0, 1]: smooth colour fields, no flat areas."""
    coarse = np.random.default_rng(seed).random((1, height // 8 + 2, width // 8 + 2, 3))
    return (
        tf.image.resize(coarse, (height, width), "bicubic").numpy()[0].clip(0, 1).astype(np.float32)
    )


def negate(batch):
    """A 'generator' that inverts colours: model space x -> -x."""
    return -batch


# ---------------------------------------------------------------------------------------------
# Translator: one photo or a batch, any size.


def test_any_size_is_padded_to_the_multiple_and_cropped_back():
    seen = []

    def forward(batch):
        seen.append(tuple(batch.shape[1:3]))
        return -batch

    photo = smooth_photo(30, 21)
    out = Translator(forward, TRANSLATION, size_multiple=8)(photo)
    assert out.shape == photo.shape
    np.testing.assert_allclose(out, 1.0 - photo, atol=1e-6)
    assert all(h % 8 == 0 and w % 8 == 0 for h, w in seen if h is not None)


def test_padding_longer_than_the_image_works():
    # U-Net 256 on a 40 x 23 thumbnail: tf.pad's REFLECT alone would refuse this.
    photo = smooth_photo(40, 23)
    out = Translator(negate, TRANSLATION, size_multiple=256)(photo)
    np.testing.assert_allclose(out, 1.0 - photo, atol=1e-6)


def test_a_batch_gives_what_single_images_give():
    translator = Translator(lambda x: tf.tanh(2.0 * x), TRANSLATION, 4, batch_size=2)
    photos = np.stack([smooth_photo(16, 20, seed) for seed in range(3)])
    batch = translator.translate_batch(photos)
    singles = np.stack([translator(p) for p in photos])
    np.testing.assert_allclose(batch, singles, atol=1e-6)


def test_gray_and_alpha_inputs_are_translated_as_rgb():
    translator = Translator(negate, TRANSLATION, 4)
    gray = smooth_photo(12, 12)[..., :1]
    assert translator(gray).shape == (12, 12, 3)
    np.testing.assert_allclose(translator(gray)[..., 1], 1.0 - gray[..., 0], atol=1e-6)
    rgba = np.concatenate([smooth_photo(12, 12), np.ones((12, 12, 1), np.float32)], -1)
    np.testing.assert_allclose(translator(rgba), 1.0 - rgba[..., :3], atol=1e-6)


class DoubleSize:
    """A x2 super-resolution task in plain model space, for testing the scale bookkeeping."""

    name = "superres"
    scale = 2
    keeps_grayscale = True
    input_channels = output_channels = 3
    to_model = TRANSLATION.to_model
    from_model = TRANSLATION.from_model


def nearest_x2(batch):
    return tf.repeat(tf.repeat(batch, 2, axis=1), 2, axis=2)


@pytest.mark.parametrize("tile", [None, 16])
def test_superres_output_is_scale_times_the_input(tile):
    photo = smooth_photo(26, 37)
    out = Translator(nearest_x2, DoubleSize(), 4, tile=tile, tile_overlap=8)(photo)
    assert out.shape == (52, 74, 3)
    np.testing.assert_allclose(out, photo.repeat(2, 0).repeat(2, 1), atol=1e-6)


def test_colorization_keeps_the_photo_lightness():
    # A model that predicts no colour (ab = 0) must give the gray version of the photo.
    colorization = get_task(TaskConfig(name="colorization"))
    photo = smooth_photo(24, 32)
    for tile in (None, 16):
        translator = Translator(
            lambda x: tf.zeros_like(x)[..., :1] * tf.zeros([2]),
            colorization,
            4,
            tile=tile,
            tile_overlap=8,
        )
        out = translator(photo)
        assert out.shape == photo.shape
        np.testing.assert_allclose(out[..., 0], out[..., 1], atol=2e-3)  # gray
        lab_in = colorization.to_model(photo)
        np.testing.assert_allclose(colorization.to_model(out), lab_in, atol=2e-3)  # same L


# ---------------------------------------------------------------------------------------------
# Tiles: large images in overlapping tiles, blended without seams.


def test_tiles_of_a_pointwise_model_equal_the_whole_image_exactly():
    photo = smooth_photo(70, 90)
    pointwise = lambda x: tf.tanh(1.5 * x)  # noqa: E731
    whole = Translator(pointwise, TRANSLATION, 4)(photo)
    tiled = Translator(pointwise, TRANSLATION, 4, tile=24, tile_overlap=8, batch_size=3)(photo)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tiled_run_matches_whole_image_run_away_from_borders():
    # An untrained ResNet generator (no instance norm: its per-tile statistics would differ)
    # whose output really depends on its input (xavier gain 1: std ~ 0.05-0.1). Seeded: over
    # seeds 0-5 the worst pixel's error runs from 0.21 to 0.47 of the output's std.
    keras.utils.set_random_seed(0)
    generator = build_generator(
        "resnet_6blocks", ngf=8, norm="batch", init_type="xavier", init_gain=1.0
    )
    forward = lambda x: generator(x, training=False)  # noqa: E731
    photo = smooth_photo(160, 192)
    whole = Translator(forward, TRANSLATION, 4)(photo)
    tiled = Translator(forward, TRANSLATION, 4, tile=96, tile_overlap=48, batch_size=4)(photo)
    hard = Translator(forward, TRANSLATION, 4, tile=96, tile_overlap=0)(photo)  # no blending
    inner = np.s_[8:-8, 8:-8]
    error = np.abs(tiled - whole)[inner]
    assert whole.std() > 0.02  # the test would be empty for a constant output
    assert error.mean() < 0.1 * whole.std() and error.max() < 0.5 * whole.std()
    assert error.mean() < 0.5 * np.abs(hard - whole)[inner].mean()  # blending is what helps


def test_tile_options_are_checked():
    assert Translator(negate, TRANSLATION, 256, tile=300, tile_overlap=64).tile == 512  # rounded up
    with pytest.raises(UserError, match="--tile 256"):
        Translator(negate, TRANSLATION, 256, tile=256, tile_overlap=32)  # tiles could not advance
    with pytest.raises(UserError, match="--tile-overlap"):
        Translator(negate, TRANSLATION, 4, tile=64, tile_overlap=-1)


def test_out_of_memory_falls_back_to_tiles():
    translator = Translator(negate, TRANSLATION, 4)
    whole = translator._whole

    def whole_that_runs_out_of_memory_when_large(images):
        if images.shape[1] > 512:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return whole(images)

    translator._whole = whole_that_runs_out_of_memory_when_large
    photo = smooth_photo(600, 40)
    np.testing.assert_allclose(translator(photo), 1.0 - photo, atol=1e-6)
    assert translator.fallbacks == 1


# ---------------------------------------------------------------------------------------------
# Folders: mirrored trees, formats, alpha, 16 bits, resume, safety, gallery.


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def u8(height, width, channels, seed=0):
    return (np.random.default_rng(seed).random((height, width, channels)) * 255).astype(np.uint8)


@pytest.fixture
def photos(tmp_path) -> Path:
    """in/ with an RGB PNG, a JPEG, an RGBA PNG and a 16-bit gray PNG in sub/, a broken file."""
    folder = tmp_path / "in"
    write_image_atomic(folder / "a.png", u8(20, 24, 3, 1))
    write_image_atomic(folder / "b.jpg", u8(20, 24, 3, 2))
    write_image_atomic(folder / "sub" / "rgba.png", u8(17, 13, 4, 3))
    gray16 = (np.random.default_rng(4).random((16, 18, 1)) * 65535).astype(np.uint16)
    write_image_atomic(folder / "sub" / "gray16.png", gray16)
    (folder / "sub" / "broken.png").write_bytes(b"this is not a PNG")
    return folder


def test_folder_is_mirrored_with_alpha_and_16_bits_kept(photos, tmp_path):
    out = tmp_path / "out"
    summary = apply_folder(
        Translator(negate, TRANSLATION, 4, batch_size=2),
        photos,
        out,
        recursive=True,
        progress=False,
    )
    assert summary.done == 4 and summary.skipped == 0
    assert [p.name for p, _ in summary.failed] == ["broken.png"]
    assert "not a readable image" in summary.failed[0][1]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "a.png",
        "b.png",
        "sub/gray16.png",
        "sub/rgba.png",
    ]
    np.testing.assert_array_equal(read_image(out / "a.png"), 255 - read_image(photos / "a.png"))
    rgba_in, rgba_out = (
        read_image(p, channels=None) for p in (photos / "sub/rgba.png", out / "sub/rgba.png")
    )
    assert rgba_out.shape == (17, 13, 4)
    np.testing.assert_array_equal(rgba_out[..., 3], rgba_in[..., 3])  # alpha unchanged
    np.testing.assert_array_equal(rgba_out[..., :3], 255 - rgba_in[..., :3])
    gray_out = read_image(out / "sub/gray16.png", channels=None)
    assert gray_out.dtype == np.uint16  # 16 bits in, 16 bits out (PNG)
    assert not list(out.rglob("*.tmp"))  # no temporary files left


def test_without_recursive_only_the_top_folder(photos, tmp_path):
    summary = apply_folder(
        Translator(negate, TRANSLATION, 4), photos, tmp_path / "out", progress=False
    )
    assert (summary.done, summary.failed) == (2, [])


def test_single_file_glob_and_formats(photos, tmp_path):
    translator = Translator(negate, TRANSLATION, 4)
    apply_folder(
        translator, photos / "a.png", tmp_path / "one", fmt="jpg", quality=80, progress=False
    )
    assert visible(tmp_path / "one") == ["a.jpg"]
    summary = apply_folder(
        translator, str(photos / "**" / "*.png"), tmp_path / "glob", fmt="webp", progress=False
    )
    assert summary.done == 3 and len(summary.failed) == 1  # ** matches the top folder too
    assert (tmp_path / "glob" / "sub" / "rgba.webp").is_file()
    assert read_image(tmp_path / "glob" / "sub" / "rgba.webp", channels=None).shape[-1] == 4


def test_a_glob_does_not_follow_linked_folders(tmp_path):
    """`in/**/*.png` with a `sub/loop -> ..` link: two inputs, two outputs (it gave 82)."""
    from translate.apply import list_inputs

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        write_image_atomic(folder / name, np.zeros((8, 8, 3), np.uint8))
    (folder / "sub" / "loop").symlink_to("..", target_is_directory=True)
    (folder / "sub" / "loop2").symlink_to("../sub", target_is_directory=True)
    root, files = list_inputs(str(folder / "**" / "*.png"))
    assert root == folder and files == [folder / "a.png", folder / "sub" / "b.png"]
    assert list_inputs(str(folder / "[as]*"))[1] == [folder / "a.png"]
    summary = apply_folder(
        Translator(negate, TRANSLATION, 4), str(folder / "**" / "*.png"), tmp_path / "out",
        progress=False,
    )
    assert summary.done == 2


def test_a_killed_applys_hidden_temporaries_are_cleaned_on_the_next_run(tmp_path):
    import os
    import time

    from translate.apply import remove_stale_temporaries

    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    stale, fresh = out / "sub" / ".a.png.k2j4_x9q.tmp", out / ".b.png.abcd1234.tmp"
    mine = out / ".notes.tmp"  # not one of ours
    for path in (stale, fresh, mine):
        path.write_bytes(b"half")
    hour_ago = time.time() - 3600
    for path in (stale, mine):
        os.utime(path, (hour_ago, hour_ago))
    assert remove_stale_temporaries(out) == [stale]
    assert fresh.exists() and mine.exists() and not stale.exists()


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (4, 4), (5, 17)])
def test_photos_of_a_few_pixels_translate_to_their_own_size(size):
    """Under 5 px they used to reach the user as 'Graph execution error'."""
    keras.utils.set_random_seed(0)
    generator = build_generator("resnet_6blocks", ngf=4, norm="instance")
    translator = Translator(lambda x: generator(x, training=False), TRANSLATION, 4)
    out = translator(np.random.default_rng(0).uniform(0, 1, (*size, 3)).astype(np.float32))
    assert out.shape == (*size, 3) and np.isfinite(out).all()


def test_gray_stays_gray_for_superres():
    class GraySuperres(DoubleSize):
        scale = 1

    from translate.apply import Decoded, finish, keeps_grayscale

    assert keeps_grayscale(GraySuperres()) and not keeps_grayscale(TRANSLATION)
    from translate.tasks import ExportedTask  # an export's task: from its metadata's name

    assert keeps_grayscale(ExportedTask.named("superres", 4)) and ExportedTask.named("superres", 4).baseline == "bicubic"
    assert not keeps_grayscale(ExportedTask.named("colorization"))
    assert ExportedTask.named("colorization").baseline == "gray"
    decoded = Decoded(np.zeros((4, 4, 3), np.float32), None, True, np.dtype(np.uint8))
    output = np.full((4, 4, 3), 0.5, np.float32)
    assert finish(decoded, output, "png", keep_gray=True).shape == (4, 4)
    assert finish(decoded, output, "png", keep_gray=False).shape == (4, 4, 3)


def test_existing_outputs_are_skipped_unless_overwrite(photos, tmp_path):
    out = tmp_path / "out"
    first = apply_folder(Translator(negate, TRANSLATION, 4), photos, out, progress=False)
    before = (out / "a.png").read_bytes()
    second = apply_folder(Translator(lambda x: x, TRANSLATION, 4), photos, out, progress=False)
    assert (first.done, second.done, second.skipped) == (2, 0, 2)
    assert (out / "a.png").read_bytes() == before
    third = apply_folder(
        Translator(lambda x: x, TRANSLATION, 4), photos, out, overwrite=True, progress=False
    )
    assert third.done == 2 and (out / "a.png").read_bytes() != before


def test_never_writes_over_or_among_the_inputs(photos, tmp_path):
    translator = Translator(negate, TRANSLATION, 4)
    with pytest.raises(UserError, match="is the input folder"):
        apply_folder(translator, photos, photos, progress=False)
    # OUTPUT holding the input folder: in/in/c.png would be written to in/c.png, among the inputs.
    write_image_atomic(photos / "in" / "c.png", u8(8, 8, 3))
    with pytest.raises(UserError, match="among the inputs"):
        apply_folder(translator, photos, tmp_path, recursive=True, progress=False)
    # An existing folder of images inside the input, with --recursive: those are inputs too.
    with pytest.raises(UserError, match="inside the input folder"):
        apply_folder(translator, photos, photos / "sub", recursive=True, progress=False)
    # A fresh folder inside the input is fine: names cannot clash, and it is not read back.
    inside = photos / "translated"
    assert apply_folder(translator, photos, inside, recursive=True, progress=False).done == 5
    again = apply_folder(translator, photos, inside, recursive=True, progress=False)
    assert (again.done, again.skipped) == (0, 5)
    assert not list(photos.glob("*.png.png")) and (photos / "a.png").is_file()


def test_inputs_that_share_a_name_keep_apart(tmp_path):
    write_image_atomic(tmp_path / "in" / "x.png", u8(8, 8, 3, 1))
    write_image_atomic(tmp_path / "in" / "x.jpg", u8(8, 8, 3, 2))
    apply_folder(
        Translator(negate, TRANSLATION, 4), tmp_path / "in", tmp_path / "out", progress=False
    )
    assert visible(tmp_path / "out") == ["x.jpg.png", "x.png.png"]


def test_compare_writes_side_by_side_images_and_a_gallery(photos, tmp_path):
    """The gallery says what made it and lists the inputs that failed (broken.png)."""
    out = tmp_path / "out"
    translator = Translator(negate, TRANSLATION, 4)
    translator.made_by = "run runs/x-1 (epoch 3), AtoB"
    summary = apply_folder(translator, photos, out, compare=True, recursive=True, progress=False)
    page = summary.gallery.read_text()
    assert summary.gallery == out / "index.html"
    for name in ("a.png", "b.jpg"):
        assert f'src="_compare/{name}.jpg"' in page
        pair = read_image(out / "_compare" / f"{name}.jpg")
        assert pair.shape == (20, 48, 3)
    assert "run runs/x-1 (epoch 3), AtoB" in page
    assert "1 failed" in page and "broken.png" in page.split("1 failed")[1]


# ---------------------------------------------------------------------------------------------
# Sources: run directories (latest, --epoch, --direction) and exports; the command line.


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A tiny CycleGAN run: config.yaml, checkpoints/epochs/epoch-1 and a different latest."""
    from translate.models import build_model

    run = tmp_path_factory.mktemp("runs") / "tiny-1"
    config = Config(
        name="tiny",
        model=CycleGANOptions(netG="resnet_6blocks", ngf=4, ndf=4, norm="batch"),
        train=TrainConfig(steps_per_epoch=1),
    )
    model = build_model(config.model, config.train)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    checkpoint.write(str(RunDir(run).epoch_checkpoint(1)))
    for variable in model.generator_for("AtoB").trainable_variables:
        variable.assign(variable * 3.0 + 0.01)
    return write_run(run, config, model)


def test_run_directory_epoch_and_direction(run_dir):
    photo = smooth_photo(20, 28)
    latest = load_translator(run_dir)(photo)
    epoch1 = load_translator(run_dir, epoch=1)(photo)
    back = load_translator(run_dir, direction="BtoA")(photo)
    assert latest.shape == epoch1.shape == back.shape == photo.shape
    assert np.abs(latest - epoch1).max() > 1e-3 and np.abs(latest - back).max() > 1e-3
    assert load_translator(run_dir, epoch=1).made_by == f"run {run_dir} (epoch 1), AtoB"
    assert "latest checkpoint" in load_translator(run_dir, direction="BtoA").made_by
    with pytest.raises(UserError, match="epoch 7"):
        load_translator(run_dir, epoch=7)
    with pytest.raises(UserError, match="not a run directory|no such"):
        load_translator(run_dir / "nothing")


def test_export_gives_what_the_run_gives(run_dir, tmp_path):
    from translate.export import export_run

    export_run(run_dir, tmp_path / "serving", name="tiny", direction="AtoB", warmup=False)
    photo = smooth_photo(20, 28)
    from_run = load_translator(run_dir, tile=16, tile_overlap=8)(photo)
    exported = load_translator(tmp_path / "serving" / "tiny", tile=16, tile_overlap=8)
    np.testing.assert_allclose(exported(photo), from_run, atol=1e-4)
    assert exported.made_by.startswith(f"export {tmp_path / 'serving' / 'tiny' / '1'}, from run ")
    with pytest.raises(UserError, match="BtoA"):
        load_translator(tmp_path / "serving" / "tiny", direction="BtoA")


def translate_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "translate.cli", "apply", *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_cli_translates_a_folder_and_exit_code_says_some_failed(run_dir, photos, tmp_path):
    proc = translate_cli(
        run_dir, photos, tmp_path / "out", "--recursive", "--batch-size", "2", "-q"
    )
    assert proc.returncode == 1, proc.stderr  # broken.png failed, the rest went on
    assert "failed: " in proc.stderr and "broken.png" in proc.stderr
    assert "done 4, skipped 0, failed 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "out" / "sub" / "rgba.png").is_file()


def test_cli_refuses_output_equal_to_input_in_one_line(run_dir, photos):
    proc = translate_cli(run_dir, photos, photos)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "is the input folder" in proc.stderr and "Traceback" not in proc.stderr


def test_superres_export_upscales_large_photos_in_tiles_as_the_run(tmp_path):
    """An x4 EDSR run and its export give the same pixels on a photo of an odd size, whole and
    in tiles (EDSR is norm-free, so tiles blend to the whole image away from nothing)."""
    from translate.export import export_run
    from translate.models import build_model

    keras.utils.set_random_seed(0)
    config = Config(
        name="sr",
        model=Pix2PixOptions(netG="edsr", ngf=8, norm="none", lambda_gan=0.0, pool_size=0,
                             init_type="kaiming"),
        task=TaskConfig(name="superres", scale=4),
    )
    model = build_model(config.model, config.train, scale=4)
    run = write_run(tmp_path / "sr-1", config, model)
    export_run(run, tmp_path / "serving", name="sr", warmup=False)
    photo = smooth_photo(45, 70)
    whole = load_translator(run)(photo)
    tiled = load_translator(run, tile=32, tile_overlap=16)(photo)
    exported = load_translator(tmp_path / "serving" / "sr", tile=32, tile_overlap=16)(photo)
    assert whole.shape == (180, 280, 3)
    assert np.abs(whole - photo.repeat(4, 0).repeat(4, 1)).mean() > 1e-3  # not a plain copy
    np.testing.assert_allclose(tiled, whole, atol=2e-3)
    # an export clips each tile to [0, 1] before blending, a run after: within a grey level
    np.testing.assert_allclose(exported, tiled, atol=1 / 255)
    assert np.mean(np.abs(exported - tiled)) < 1e-6
