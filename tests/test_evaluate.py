"""translate evaluate: each task's protocol, next to its baseline, on tiny generated folders."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_run

from translate.data.imageio import write_image_atomic
from translate.errors import UserError
from translate.evaluation import evaluate, json_ready, to_uint8
from translate.metrics import INCEPTION_WEIGHTS_FILE, gray_baseline, psnr_y
from translate.tasks import ColorizationTask, SuperResolutionTask, TaskConfig, TranslationTask

rng = np.random.default_rng(0)


def smooth_photo(height=48, width=40):
    """A colourful image with detail at several scales (random noise would make SR meaningless)."""
    y, x = np.mgrid[0:height, 0:width] / 8.0
    phase = rng.uniform(0, 6, 3)
    channels = [np.sin(x * (1 + c) + phase[c]) * np.cos(y * (2 - c / 2)) for c in range(3)]
    return np.clip(np.stack(channels, -1) * 100 + 128, 0, 255).astype(np.uint8)


def write_folder(folder, images, suffix=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        write_image_atomic(folder / f"img_{i:03d}{suffix}", image)
    return folder


class FakeTranslator:
    """What translate.apply.Translator offers evaluate: a task and photo01 -> photo01."""

    def __init__(self, task, forward):
        self.task, self.forward, self.calls = task, forward, 0

    def __call__(self, image01):
        assert image01.dtype == np.float32 and 0 <= image01.min() and image01.max() <= 1
        self.calls += 1
        return np.asarray(self.forward(image01))


def area_downscale(hr01, scale):
    h, w, c = hr01.shape
    return hr01.reshape(h // scale, scale, w // scale, scale, c).mean(axis=(1, 3))


class AreaDownscaling(SuperResolutionTask):
    """Super-resolution whose LR images are box-filtered, so expected scores are easy to compute."""

    def degrade(self, hr01, seed=None):
        return area_downscale(hr01, self.scale)


def superres_task(scale):
    return AreaDownscaling(TaskConfig(name="superres", scale=scale))


def bicubic_model(scale):
    def forward(lr01):
        size = (lr01.shape[0] * scale, lr01.shape[1] * scale)
        return tf.image.resize(lr01[None], size, "bicubic")[0]

    return forward


def nearest_model(scale):
    return lambda lr01: np.repeat(np.repeat(lr01, scale, axis=0), scale, axis=1)


# ---------------------------------------------------------------- super-resolution


def test_superres_on_hr_photos_scores_on_y_shaved_next_to_bicubic(tmp_path):
    hr = [smooth_photo(49, 46), smooth_photo(40, 40)]  # 49 rows: cropped to 48 (modcrop)
    data = write_folder(tmp_path / "hr", hr)
    translator = FakeTranslator(superres_task(2), bicubic_model(2))
    report = evaluate(translator, data)
    assert report["task"] == "superres" and report["baseline"] == "bicubic"
    assert report["images"] == 2 and translator.calls == 2
    assert "2-pixel border shaved" in report["protocol"]
    psnr_, ssim_ = report["metrics"]["psnr_y"], report["metrics"]["ssim_y"]
    # a model that is bicubic scores as the baseline; the baseline is the real bicubic figure
    assert psnr_["model"] == pytest.approx(psnr_["baseline"], abs=0.02)
    assert ssim_["model"] == pytest.approx(ssim_["baseline"], abs=1e-3)
    lr = to_uint8(area_downscale(hr[1].astype(np.float32) / 255.0, 2))
    bicubic = tf.image.resize(lr[None].astype(np.float32), (40, 40), "bicubic")[0]
    bicubic = np.clip(np.round(bicubic), 0, 255).astype(np.uint8)
    assert report["per_image"][1]["baseline"]["psnr_y"] == pytest.approx(psnr_y(bicubic, hr[1], 2))

    worse = evaluate(FakeTranslator(superres_task(2), nearest_model(2)), data)
    assert worse["metrics"]["psnr_y"]["model"] < worse["metrics"]["psnr_y"]["baseline"] - 0.5


def test_superres_uses_the_given_lr_files_and_reproduces_set5(shared_data):
    set5 = shared_data / "Set5"
    if not (set5 / "image_SRF_4").is_dir():
        pytest.skip(f"no {set5}/image_SRF_4")
    report = evaluate(FakeTranslator(superres_task(4), bicubic_model(4)), set5)
    assert report["images"] == 5
    assert [row["name"] for row in report["per_image"]][0] == "img_001_SRF_4"
    for side in ("model", "baseline"):  # measured 28.43 / 0.8113; published 28.42 / 0.8104
        assert report["metrics"]["psnr_y"][side] == pytest.approx(28.42, abs=0.05)
        assert report["metrics"]["ssim_y"][side] == pytest.approx(0.8104, abs=0.002)
    assert "published Y-PSNR on Set5 x4: bicubic 28.42, SRCNN 30.48" in report["notes"][0]


def test_max_images_and_a_folder_without_images(tmp_path):
    data = write_folder(tmp_path / "hr", [smooth_photo(32, 32) for _ in range(3)])
    translator = FakeTranslator(superres_task(2), bicubic_model(2))
    assert evaluate(translator, data, max_images=1)["images"] == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: no images"):
        evaluate(translator, tmp_path / "empty")
    with pytest.raises(UserError, match="DATA .*missing: no such folder"):
        evaluate(translator, tmp_path / "missing")


def test_a_model_output_of_the_wrong_size_names_the_image(tmp_path):
    data = write_folder(tmp_path / "hr", [smooth_photo(32, 32)])
    translator = FakeTranslator(superres_task(2), lambda lr01: lr01)  # forgot to upscale
    with pytest.raises(UserError, match="img_000: .*sizes must match"):
        evaluate(translator, data)


# ---------------------------------------------------------------- colorization


def test_colorization_scores_rgb_and_colourfulness_next_to_gray(tmp_path):
    photos = [smooth_photo(), smooth_photo()]
    data = write_folder(tmp_path / "photos", photos, suffix=".jpg")
    task = ColorizationTask()

    def gray(photo01):
        return gray_baseline(np.round(photo01 * 255).astype(np.uint8)) / 255.0

    as_gray = evaluate(FakeTranslator(task, gray), data)
    assert as_gray["baseline"] == "gray"
    metrics = as_gray["metrics"]
    assert metrics["psnr"]["model"] == pytest.approx(metrics["psnr"]["baseline"])
    assert metrics["colourfulness"]["model"] == metrics["colourfulness"]["baseline"] == 0.0
    assert metrics["colourfulness_reference"]["model"] > 20

    perfect = evaluate(FakeTranslator(task, lambda photo01: photo01), data)["metrics"]
    assert perfect["psnr"]["model"] == math.inf and perfect["ssim"]["model"] == pytest.approx(1.0)
    assert perfect["colourfulness"]["model"] == perfect["colourfulness_reference"]["model"]
    assert json.loads(json.dumps(json_ready(perfect)))["psnr"]["model"] == "inf"


# ---------------------------------------------------------------- translation


TRANSLATION = TranslationTask()


def invert(image01):
    return 1.0 - image01


@pytest.fixture
def no_inception_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def test_aligned_pairs_score_against_targets_next_to_identity(tmp_path, no_inception_weights):
    photos = [smooth_photo(32, 32) for _ in range(3)]
    pairs = [np.concatenate([a, 255 - a], axis=1) for a in photos]  # A | B, B = inverted A
    data = tmp_path / "pairs"
    write_folder(data / "test", pairs)
    report = evaluate(FakeTranslator(TRANSLATION, invert), data, split="test")
    assert report["baseline"] == "identity" and report["images"] == 3
    assert report["metrics"]["psnr"]["model"] == math.inf
    assert report["metrics"]["psnr"]["baseline"] < 10
    assert "fid" not in report["metrics"] and "FID/KID left out" in report["notes"][0]

    backwards = evaluate(FakeTranslator(TRANSLATION, lambda x: x), data, direction="BtoA")
    assert backwards["metrics"]["psnr"]["model"] < 10  # B -> A is not the identity either
    with pytest.raises(UserError, match="no val/ .*nor valA/"):
        evaluate(FakeTranslator(TRANSLATION, invert), data, split="val")


def test_unpaired_folders_need_inception_weights(tmp_path, no_inception_weights):
    write_folder(tmp_path / "data" / "testA", [smooth_photo(32, 32) for _ in range(2)])
    (tmp_path / "data" / "testB").mkdir()
    for i in range(2):
        write_image_atomic(tmp_path / "data" / "testB" / f"other_{i}.png", smooth_photo(32, 32))
    translator = FakeTranslator(TRANSLATION, invert)
    with pytest.raises(UserError, match=INCEPTION_WEIGHTS_FILE):
        evaluate(translator, tmp_path / "data")
    with pytest.raises(UserError, match="--inception-weights .*no such file"):
        evaluate(translator, tmp_path / "data", inception_weights=tmp_path / "nothing.h5")


def test_unpaired_folders_get_fid_and_kid_against_the_target_domain(tmp_path):
    targets = [smooth_photo(32, 32) for _ in range(3)]
    write_folder(tmp_path / "data" / "testA", [255 - t for t in targets])
    (tmp_path / "data" / "testB").mkdir()
    for i, target in enumerate(targets):
        write_image_atomic(tmp_path / "data" / "testB" / f"b_{i}.png", target)
    report = evaluate(FakeTranslator(TRANSLATION, invert), tmp_path / "data",
                      inception_weights="random")  # an untrained InceptionV3: plumbing only
    metrics = report["metrics"]
    assert set(metrics) == {"fid", "kid", "kid_std"} and report["per_image"] == []
    assert metrics["fid"]["model"] == pytest.approx(0.0, abs=1e-3)  # outputs are the targets
    assert metrics["fid"]["baseline"] > metrics["fid"]["model"]


# ---------------------------------------------------------------- the command


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "translate.cli", "evaluate", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_errors_are_one_line(tmp_path):
    result = run_cli(tmp_path, tmp_path / "missing")
    assert result.returncode == 2
    assert "DATA" in result.stderr and "missing: no such folder" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = run_cli(tmp_path / "no-run", tmp_path)
    assert result.returncode == 2 and "no such run directory or SavedModel" in result.stderr


# ---------------------------------------------------------------- real tasks and tiny models


def test_the_superres_task_degradation_reproduces_the_set5_lr_files(shared_data):
    """Set5/HR degraded by the task (MATLAB-style bicubic) scores as the given LR files do."""
    from translate.tasks import TaskConfig, get_task

    if not (shared_data / "Set5" / "HR").is_dir():
        pytest.skip("no Set5/HR")
    task = get_task(TaskConfig(name="superres", scale=4))
    report = evaluate(FakeTranslator(task, nearest_model(4)), shared_data / "Set5" / "HR")
    assert report["metrics"]["psnr_y"]["baseline"] == pytest.approx(28.43, abs=0.01)
    assert report["metrics"]["ssim_y"]["baseline"] == pytest.approx(0.8113, abs=0.0005)


def test_an_untrained_edsr_and_colorizer_through_the_translator(tmp_path):
    from translate.apply import Translator
    from translate.networks import build_generator
    from translate.tasks import TaskConfig, get_task

    data = write_folder(tmp_path / "photos", [smooth_photo(32, 32), smooth_photo(24, 36)])
    edsr = build_generator("edsr", ngf=4, scale=2, n_blocks=1)
    superres = Translator(edsr, get_task(TaskConfig(name="superres", scale=2)), size_multiple=1)
    report = evaluate(superres, data)
    assert report["images"] == 2
    # the SR generators start as their global bicubic skip, so an untrained one IS the baseline:
    # the task's pre/post-processing and the evaluation's bicubic agree to the rounding
    for name in ("psnr_y", "ssim_y"):
        values = report["metrics"][name]
        assert values["model"] == pytest.approx(values["baseline"], abs=0.01)

    colorizer = build_generator("resnet_6blocks", 1, 2, ngf=4)
    colorization = Translator(colorizer, get_task(TaskConfig(name="colorization")), 4)
    metrics = evaluate(colorization, data)["metrics"]
    assert metrics["colourfulness"]["model"] > 0 == metrics["colourfulness"]["baseline"]
    assert metrics["psnr"]["baseline"] > 10  # gray with the photo's own lightness


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny untrained pix2pix-style run directory (config.yaml + latest checkpoint)."""
    from translate.config import Config, TrainConfig
    from translate.models import CycleGANOptions, build_model

    run = tmp_path_factory.mktemp("runs") / "tiny-1"
    config = Config(
        name="tiny",
        model=CycleGANOptions(netG="resnet_6blocks", ngf=4, ndf=4, norm="batch"),
        train=TrainConfig(steps_per_epoch=1),
    )
    return write_run(run, config, build_model(config.model, config.train))


def test_cli_evaluates_a_run_on_aligned_pairs(run_dir, tmp_path):
    photos = [smooth_photo(32, 32) for _ in range(2)]
    data = write_folder(tmp_path / "facades" / "test", [np.concatenate([p, p], 1) for p in photos])
    env_home = tmp_path / "keras"  # no InceptionV3 weights: FID/KID left out, with a note
    result = subprocess.run(
        [sys.executable, "-m", "translate.cli", "evaluate", str(run_dir), str(data.parent)],
        capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "KERAS_HOME": str(env_home), "COLUMNS": "150"},
    )
    assert result.returncode == 0, result.stderr
    assert "identity" in result.stdout and "PSNR (dB)" in result.stdout
    assert "FID/KID left out" in result.stdout
    written = run_dir / "eval" / "facades-test.json"
    report = json.loads(written.read_text())
    assert report["task"] == "translation" and report["images"] == 2
    assert report["metrics"]["psnr"]["baseline"] == "inf"  # identity on A|A pairs is exact
    assert report["source"] == str(run_dir) and len(report["per_image"]) == 2
    card = (run_dir / "README.md").read_text()  # the run's model card lists its reports
    assert "| facades | 2 | psnr " in card and "(baseline inf)" in card


def test_an_export_of_superres_gets_the_bicubic_degradation(tmp_path):
    """An export's task holds no degradation: evaluate makes LR images with the bicubic one."""
    from translate.apply import Translator
    from translate.tasks import ExportedTask

    def forward(batch):  # an export's signature: photos in [0, 1], x2, photos out
        return tf.image.resize(batch, tf.shape(batch)[1:3] * 2, "bicubic")

    data = write_folder(tmp_path / "hr", [smooth_photo(32, 32), smooth_photo(33, 30)])
    translator = Translator(forward, ExportedTask.named("superres", 2), size_multiple=1)
    report = evaluate(translator, data)
    assert report["images"] == 2 and report["baseline"] == "bicubic"
    psnr_ = report["metrics"]["psnr_y"]
    assert psnr_["model"] == pytest.approx(psnr_["baseline"], abs=0.02)


def test_a_btoa_pix2pix_run_is_scored_the_way_it_was_trained(tmp_path):
    """facades labels->photo is trained BtoA: its one generator reads B, unless told otherwise."""
    from translate.api import _evaluation_directions as _directions
    from translate.config import resolve_config, save_config

    save_config(resolve_config(recipe="facades"), tmp_path / "config.yaml")
    assert _directions(str(tmp_path), None) == ("AtoB", "BtoA")
    assert _directions(str(tmp_path), "AtoB") == ("AtoB", "AtoB")
    assert _directions(str(tmp_path / "not-a-run"), "BtoA") == ("BtoA", "BtoA")
