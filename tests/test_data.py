"""Datasets as users meet them: folders in every layout, the built-in shapes, the tf.data batches."""

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from translate.data import DataConfig, count_examples, make_dataset, resolve_dataset
from translate.data.imageio import read_image, write_image_atomic
from translate.data.sources import detect_layout
from translate.errors import UserError

SMALL = dict(load_size=36, crop_size=32, batch_size=2)


def noise(seed, h=40, w=40):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_folder(folder, images, suffix=".png"):
    for i, image in enumerate(images):
        write_image_atomic(folder / f"{i:03d}{suffix}", image)


def batches(ds, n=None):
    items = list(ds.take(n) if n else ds)
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in items]


@pytest.fixture
def unaligned(tmp_path):
    """A and B images whose pixels all equal their index (A: i, B: 100 + i), 6 A and 4 B."""
    root = tmp_path / "unaligned"
    for split, n_a, n_b in (("train", 6, 4), ("test", 2, 2)):
        write_folder(root / f"{split}A", [np.full((40, 40, 3), i, np.uint8) for i in range(n_a)])
        write_folder(root / f"{split}B",
                     [np.full((40, 40, 3), 100 + i, np.uint8) for i in range(n_b)])
    return root


@pytest.fixture
def side_by_side(tmp_path):
    """pix2pix-style A|B images whose two halves are identical noise."""
    root = tmp_path / "aligned"
    for split, n in (("train", 6), ("test", 2)):
        halves = [noise(i) for i in range(n)]
        write_folder(root / split, [np.concatenate([h, h], axis=1) for h in halves])
    return root


# -- layouts -----------------------------------------------------------------------------------


def test_layouts_are_detected_from_the_folder_structure(tmp_path, unaligned, side_by_side):
    assert detect_layout(unaligned) == "unaligned"
    assert detect_layout(side_by_side) == "aligned"
    plain = tmp_path / "plain"
    write_folder(plain, [noise(i) for i in range(3)], ".jpg")
    assert detect_layout(plain) == "single"
    by_name = tmp_path / "by_name"
    write_folder(by_name / "A", [noise(i) for i in range(3)])
    write_folder(by_name / "B", [noise(i) for i in range(3)])
    spec = resolve_dataset(by_name)
    assert spec.layout == "aligned" and list(spec.files["train"]) == ["A", "B"]
    assert resolve_dataset(plain).files["train"]["image"][0].name == "000.jpg"


def test_layout_can_be_overridden(side_by_side):
    spec = resolve_dataset(side_by_side, layout="single")
    assert spec.layout == "single" and spec.splits == ["test", "train"]
    batch = batches(make_dataset(spec, "train", DataConfig(**SMALL), shuffle=False), 1)[0]
    assert batch.shape == (2, 32, 32, 3)


def test_undetectable_layout_and_missing_folders_are_one_line_errors(tmp_path):
    (tmp_path / "empty" / "notes").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(UserError, match="cannot detect the layout of .*empty.*trainA"):
        resolve_dataset(tmp_path / "empty")
    with pytest.raises(UserError, match="dataset folder /no/such/folder not found"):
        resolve_dataset("/no/such/folder")
    with pytest.raises(UserError, match="unknown dataset 'horse2zeebra'; known datasets: .*horse2zebra"):
        resolve_dataset("horse2zeebra")
    with pytest.raises(UserError, match="data.layout='paired' is not valid"):
        resolve_dataset(tmp_path / "empty", layout="paired")


def test_missing_and_empty_splits_say_what_is_expected(tmp_path, unaligned):
    spec = resolve_dataset(unaligned)
    with pytest.raises(UserError, match=r"no 'val' split \(found: test, train\); expected images "
                                        r"in valA/ and valB/"):
        make_dataset(spec, "val", DataConfig(**SMALL))
    for f in (unaligned / "testB").iterdir():
        f.unlink()
    spec = resolve_dataset(unaligned)
    assert not spec.has_split("test") and spec.has_split("train")
    with pytest.raises(UserError, match="split 'test' has no images in domain B"):
        count_examples(spec, "test", DataConfig())


def test_aligned_image_with_an_odd_width_is_refused_naming_it(tmp_path):
    write_folder(tmp_path / "train", [noise(0, 20, 40), noise(1, 20, 41)])
    spec = resolve_dataset(tmp_path, layout="aligned")
    with pytest.raises(UserError, match=r"001.png: an aligned A\|B image must have an even width"):
        make_dataset(spec, "train", DataConfig(**SMALL))


# -- batches -----------------------------------------------------------------------------------


def test_batches_are_float_photos_in_zero_to_one_with_the_crop_shape(unaligned):
    spec = resolve_dataset(unaligned)
    a, b = batches(make_dataset(spec, "train", DataConfig(**SMALL), repeat=True), 1)[0]
    assert a.shape == b.shape == (2, 32, 32, 3) and a.dtype == np.float32
    np.testing.assert_allclose(a, np.round(a * 255) / 255, atol=1e-6)
    assert a.max() <= 5 / 255 + 1e-6 and b.min() >= 100 / 255 - 1e-6


def test_unaligned_epoch_is_the_larger_domain_with_random_b_partners(unaligned):
    spec = resolve_dataset(unaligned)
    assert count_examples(spec, "train", DataConfig()) == 6
    config = DataConfig(**{**SMALL, "batch_size": 1, "flip": False})
    pairs = [(round(a[0, 0, 0, 0] * 255), round(b[0, 0, 0, 0] * 255))
             for a, b in batches(make_dataset(spec, "train", config, seed=5))]
    assert sorted(a for a, _ in pairs) == [0, 1, 2, 3, 4, 5]  # every A once per epoch
    assert {b for _, b in pairs} <= {100, 101, 102, 103}
    serial = DataConfig(**{**SMALL, "batch_size": 1, "serial_batches": True})
    in_order = [(round(a[0, 0, 0, 0] * 255), round(b[0, 0, 0, 0] * 255))
                for a, b in batches(make_dataset(spec, "train", serial, seed=5))]
    assert in_order == [(i, 100 + i % 4) for i in range(6)]
    randomly = [b for _, b in pairs]
    assert randomly != [100 + i % 4 for i in range(6)] or pairs != in_order


def test_direction_btoa_swaps_input_and_target(unaligned):
    spec = resolve_dataset(unaligned)
    config = DataConfig(**{**SMALL, "direction": "BtoA"})
    first, second = batches(make_dataset(spec, "train", config, shuffle=False), 1)[0]
    assert first.min() > second.max()  # B (values >= 100) comes first


def test_same_seed_same_batches_and_skip_resumes_exactly(unaligned):
    spec = resolve_dataset(unaligned)
    config = DataConfig(**SMALL, augment=[{"name": "GaussNoise", "p": 0.5}])
    run = batches(make_dataset(spec, "train", config, seed=7, repeat=True), 8)
    again = batches(make_dataset(spec, "train", config, seed=7, repeat=True), 8)
    resumed = batches(make_dataset(spec, "train", config, seed=7, repeat=True).skip(5), 3)
    cheap = batches(make_dataset(spec, "train", config, seed=7, repeat=True, skip=5), 3)
    other = batches(make_dataset(spec, "train", config, seed=8, repeat=True), 8)
    for x, y in zip(run, again, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    for x, y, z in zip(run[5:], resumed, cheap, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], z[1])
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(run, other, strict=True))


@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop", "scale_width_and_crop"])
@pytest.mark.parametrize("augment", [[], [{"name": "ColorJitter", "p": 1.0},
                                          {"name": "Rotate", "limit": 30, "p": 1.0},
                                          {"name": "GaussNoise", "p": 1.0}]])
def test_aligned_pairs_stay_pixel_exact_through_crop_flip_and_augmentation(
    side_by_side, preprocess, augment
):
    spec = resolve_dataset(side_by_side)
    config = DataConfig(**SMALL, preprocess=preprocess, augment=augment)
    seen = []
    for a, b in batches(make_dataset(spec, "train", config, seed=3, repeat=True), 6):
        np.testing.assert_array_equal(a, b)
        seen.append(a)
    assert not np.array_equal(seen[0], seen[3])  # it did crop/flip/augment differently


def test_pairs_from_a_and_b_folders_line_up_by_name(tmp_path):
    images = [noise(i) for i in range(5)]
    write_folder(tmp_path / "A", images)
    write_folder(tmp_path / "B", images[::-1])
    for i, image in enumerate(images[::-1]):  # B written in reverse order, renamed to match A
        write_image_atomic(tmp_path / "B" / f"{4 - i:03d}.png", image)
    (tmp_path / "B" / "extra.png").write_bytes((tmp_path / "B" / "000.png").read_bytes())
    spec = resolve_dataset(tmp_path)
    assert spec.layout == "aligned" and "without a same-named partner" in spec.problems[0]
    for a, b in batches(make_dataset(spec, "train", DataConfig(**SMALL), seed=1)):
        np.testing.assert_array_equal(a, b)


def test_corrupt_files_are_skipped_with_one_warning_each_and_a_count(tmp_path, caplog):
    folder = tmp_path / "photos"
    write_folder(folder, [noise(i) for i in range(4)], ".jpg")
    (folder / "notes.jpg").write_text("not an image")
    good = (folder / "000.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / "empty.png").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="translate.data"):
        spec = resolve_dataset(folder)
        assert count_examples(spec, "train", DataConfig()) == 4
    messages = [r.getMessage() for r in caplog.records]
    for name in ("notes.jpg", "truncated.jpg", "empty.png"):
        assert sum(name in m for m in messages) == 1, messages
    assert any("3 unusable file(s) skipped" in m for m in messages)
    one = DataConfig(**{**SMALL, "batch_size": 1})
    assert len(batches(make_dataset(spec, "train", one, seed=0))) == 4
    # A file that breaks only when decoded (here: gone since the check) is skipped, no crash.
    dataset = make_dataset(spec, "train", one, seed=0)
    (folder / "002.jpg").unlink()
    assert len(batches(dataset)) == 3


def test_max_items_limits_each_domain(unaligned):
    spec = resolve_dataset(unaligned)
    config = DataConfig(**{**SMALL, "max_items": 3, "batch_size": 1})
    assert count_examples(spec, "train", config) == 3
    assert len(batches(make_dataset(spec, "train", config))) == 3


def test_recipe_augmentations_are_checked(unaligned):
    spec = resolve_dataset(unaligned)
    with pytest.raises(UserError, match=r"data.augment\[0\]: unknown albumentations transform 'Jitter'"):
        make_dataset(spec, "train", DataConfig(**SMALL, augment=[{"name": "Jitter"}]))
    with pytest.raises(UserError, match="changes the image size"):
        make_dataset(spec, "train", DataConfig(**SMALL, augment=[
            {"name": "Resize", "height": 16, "width": 16}]))


# -- decoding ----------------------------------------------------------------------------------


def test_gray_rgba_16bit_and_exif_orientation_decode_alike_everywhere(tmp_path):
    from translate.data.pipeline import decode
    from translate.data.sources import read_header

    rgb = noise(0, 20, 30)
    gray = rgb[:, :, 0]
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full((20, 30), 9, np.uint8)])).save(tmp_path / "rgba.png")
    deep = (rgb.astype(np.uint16) * 257)
    write_image_atomic(tmp_path / "deep.png", deep)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: "rotate 90 degrees clockwise to view"
    Image.fromarray(rgb).save(tmp_path / "turned.png", exif=exif.tobytes())

    assert read_image(tmp_path / "gray.png").shape == (20, 30, 3)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    assert read_image(tmp_path / "deep.png").dtype == np.uint16
    upright = np.asarray(Image.open(tmp_path / "turned.png").transpose(Image.Transpose.ROTATE_270))
    np.testing.assert_array_equal(read_image(tmp_path / "turned.png"), upright)
    info = read_header(tmp_path / "turned.png")
    assert (info.width, info.height, info.orientation) == (20, 30, 6)
    for name, expected in [("gray.png", np.repeat(gray[:, :, None], 3, 2)), ("rgba.png", rgb),
                           ("deep.png", rgb), ("turned.png", upright)]:
        orientation = read_header(tmp_path / name).orientation
        decoded = decode(str(tmp_path / name), orientation).numpy()
        np.testing.assert_allclose(decoded * 255, expected, atol=0.01, err_msg=name)


def test_unreadable_image_is_a_user_error_and_writes_are_atomic(tmp_path):
    (tmp_path / "x.jpg").write_text("hello")
    with pytest.raises(UserError, match=r"x.jpg: not a readable image"):
        read_image(tmp_path / "x.jpg")
    for suffix in (".png", ".jpg", ".webp"):
        write_image_atomic(tmp_path / f"out{suffix}", noise(1, 16, 16), quality=100)
        assert read_image(tmp_path / f"out{suffix}").shape == (16, 16, 3)
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), noise(1, 16, 16))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg", "out.png", "out.webp", "x.jpg"]
    with pytest.raises(UserError, match=r"cannot write images as .tif"):
        write_image_atomic(tmp_path / "out.tif", noise(1))


# -- built-in and shared data ------------------------------------------------------------------


def test_builtin_shapes_are_generated_once_deterministically(tmp_path):
    from translate.data.cards import cache_dir
    from translate.data.synthetic import generate

    spec = resolve_dataset("shapes")
    assert spec.root == cache_dir() / "datasets" / "shapes" and spec.layout == "unaligned"
    assert count_examples(spec, "train", DataConfig()) == 200
    assert count_examples(spec, "test", DataConfig()) == 20
    assert not [p for p in spec.root.parent.iterdir() if p.name.startswith(".")]  # no temp dirs
    generate("shapes", tmp_path / "again", counts={"test": 20})
    for name in ("testA/0007.png", "testB/0019.png"):
        assert (tmp_path / "again" / name).read_bytes() == (spec.root / name).read_bytes()
    a = read_image(spec.root / "trainA" / "0000.png")
    b = read_image(spec.root / "trainB" / "0000.png")
    assert a.shape == b.shape == (64, 64, 3)
    paired = resolve_dataset("shapes-paired")
    assert paired.layout == "aligned" and "AB" in paired.files["train"]
    a, b = batches(make_dataset(paired, "test", DataConfig(load_size=64, crop_size=64)), 1)[0]
    assert a.shape == (1, 64, 64, 3) and not np.array_equal(a, b)


def test_shared_facades_load_in_both_layouts_with_pairs_lined_up(tmp_path, shared_data):
    facades = shared_data / "facades"
    unaligned = resolve_dataset(facades)
    aligned = resolve_dataset(facades, layout="aligned")
    assert (unaligned.layout, aligned.layout) == ("unaligned", "aligned")
    for spec in (unaligned, aligned):
        assert count_examples(spec, "train", DataConfig()) == 400
        assert count_examples(spec, "test", DataConfig()) == 106
    # The A|B images and the trainA/trainB halves of the same name are the same pair.
    halves = tmp_path / "halves"
    halves.mkdir()
    for split in ("testA", "testB"):
        os.symlink(facades / split, halves / split)
    by_name = resolve_dataset(halves, layout="aligned")
    plain = DataConfig(load_size=256, crop_size=256, flip=False, batch_size=4)
    for (a1, b1), (a2, b2) in zip(batches(make_dataset(aligned, "test", plain, shuffle=False), 3),
                                  batches(make_dataset(by_name, "test", plain, shuffle=False), 3),
                                  strict=True):
        assert np.abs(a1 - a2).mean() < 0.025 and np.abs(b1 - b2).mean() < 0.025
        assert np.abs(a1 - b1).mean() > 0.1  # photo vs label map: really different


# -- CLI ---------------------------------------------------------------------------------------


def datasets_cli(*args):
    """`translate datasets ...` in-process (the entry point's error printing is tested below)."""
    from typer.testing import CliRunner

    from translate.commands.datasets import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})


def test_cli_lists_and_describes_datasets(side_by_side):
    listed = datasets_cli("list")
    assert listed.exit_code == 0, listed.output
    for name in ("horse2zebra", "edges2shoes", "night2day", "iphone2dslr_flower", "shapes"):
        assert name in listed.stdout
    info = datasets_cli("info", str(side_by_side))
    assert info.exit_code == 0, info.output
    assert "layout aligned" in info.stdout and "80x40 (6)" in info.stdout
    card = datasets_cli("info", "horse2zebra")
    assert "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip" in card.stdout
    assert "not cached" in card.stdout
    fetch = datasets_cli("fetch", "nonesuch")
    assert isinstance(fetch.exception, UserError) and "unknown dataset 'nonesuch'" in str(
        fetch.exception)


def test_cli_bad_dataset_name_is_one_red_line():
    result = subprocess.run([sys.executable, "-m", "translate.cli", "datasets", "info", "nonesuch"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "unknown dataset 'nonesuch'" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # a fresh TensorFlow process with two logical CPUs
def test_batches_split_across_replicas_of_a_mirrored_strategy(unaligned):
    script = f"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from translate.data import DataConfig, make_dataset, resolve_dataset
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
config = DataConfig(load_size=36, crop_size=32, batch_size=4)
ds = make_dataset(resolve_dataset({str(unaligned)!r}), "train", config, seed=1, repeat=True)
a, b = next(iter(strategy.experimental_distribute_dataset(ds)))
print([tuple(t.shape) for t in a.values], [tuple(t.shape) for t in b.values])
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[(2, 32, 32, 3), (2, 32, 32, 3)] [(2, 32, 32, 3), (2, 32, 32, 3)]"


def test_a_paired_model_prefers_side_by_side_pairs_over_a_and_b_folders(tmp_path):
    """The CycleGAN facades archive has both train/ (A|B images) and trainA/ + trainB/."""
    import cv2

    from translate.data.sources import detect_layout

    for name, size in (("train", (16, 32)), ("trainA", (16, 16)), ("trainB", (16, 16))):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "1.png"), np.zeros((*size, 3), np.uint8))
    assert detect_layout(tmp_path) == "unaligned"
    assert detect_layout(tmp_path, paired=True) == "aligned"


def test_several_crops_per_photo_with_rotations_resume_exactly(tmp_path):
    """Super-resolution patches: each photo decoded once for K crops, an epoch K x the photos,
    `skip` landing mid-photo, and flips plus 90-degree turns (all eight orientations)."""
    folder = tmp_path / "photos"
    write_folder(folder, [noise(i, 48, 64) for i in range(3)])
    spec = resolve_dataset(folder, layout="single")
    config = DataConfig(preprocess="crop", crop_size=16, batch_size=2, crops_per_image=4,
                        rotate=True)
    assert count_examples(spec, "train", config) == 12
    run = batches(make_dataset(spec, "train", config, seed=3, repeat=True), 12)
    assert run[0].shape == (2, 16, 16, 3)
    crops = np.concatenate(run)
    photos = [noise(i, 48, 64) / 255.0 for i in range(3)]

    def source(crop):  # which photo a crop (in any of the 8 orientations) was cut from
        for k, photo in enumerate(photos):
            for turned in (np.rot90(crop, t) for t in range(4)):
                for candidate in (turned, turned[:, ::-1]):
                    windows = np.lib.stride_tricks.sliding_window_view(photo, (16, 16, 3))
                    if np.any(np.all(np.abs(windows - candidate) < 1e-5, axis=(-3, -2, -1))):
                        return k
        return None

    sources = [source(c) for c in crops[:12]]
    assert None not in sources
    assert [sources[i] == sources[i - i % 4] for i in range(12)] == [True] * 12  # 4 per photo
    assert sorted(sources) == [0] * 4 + [1] * 4 + [2] * 4  # each photo once per epoch
    resumed = batches(make_dataset(spec, "train", config, seed=3, repeat=True, skip=3), 3)
    for x, y in zip(run[3:6], resumed, strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(UserError, match="data.crops_per_image=0: must be 1, or more"):
        make_dataset(spec, "train", DataConfig(crops_per_image=0), seed=0)


def test_plain_subfolders_are_one_training_set_and_small_photos_are_left_out(tmp_path):
    """A photo collection such as sr291 (T91/ + BSD200/): one train split; for full-resolution
    crops the photos smaller than the crop are left out (with one warning), not an error."""
    write_folder(tmp_path / "sr" / "T91", [noise(i, 40, 40) for i in range(3)])
    write_folder(tmp_path / "sr" / "BSD", [noise(i, 24, 40) for i in range(2)])
    spec = resolve_dataset(tmp_path / "sr")
    assert spec.layout == "single" and spec.splits == ["train"]
    config = DataConfig(preprocess="crop", crop_size=32, batch_size=1)
    assert count_examples(spec, "train", config) == 3
    assert len(batches(make_dataset(spec, "train", config, seed=0))) == 3
