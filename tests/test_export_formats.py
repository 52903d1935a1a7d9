"""`translate export --format onnx|tflite`: files that ONNX Runtime and LiteRT run as the run does.

Measured on real photos (the shared facades) of 256x256 and 300x200 (padded inside the graph to
the generator's multiple and cropped back), against the Keras generator's photo-space output;
each test prints what it measured.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_run

ort = pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed")
pytest.importorskip("tf2onnx", reason="the [onnx] extra is not installed")
litert = pytest.importorskip("ai_edge_litert.interpreter", reason="the [tflite] extra is not installed")

import tensorflow as tf  # noqa: E402

from translate.errors import UserError  # noqa: E402
from translate.export import make_translate_tensor  # noqa: E402
from translate.export_formats import file_runner, read_file_metadata  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "serving.md"
SIZES = [(256, 256), (200, 300)]


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    """A tiny CycleGAN run whose generators no fresh build reproduces."""
    from translate.config import Config
    from translate.models import CycleGANOptions, build_model

    config = Config(name="tiny", model=CycleGANOptions(netG="resnet_6blocks", ngf=8, ndf=8))
    model = build_model(config.model, config.train)
    rng = np.random.default_rng(3)
    for direction in ("AtoB", "BtoA"):
        for variable in model.generator_for(direction).trainable_variables:
            variable.assign_add(rng.normal(0, 0.05, variable.shape).astype(np.float32))
    return write_run(tmp_path_factory.mktemp("runs") / "tiny-1", config, model)


@pytest.fixture(scope="module")
def facade_photos():
    """Two real photos at 256x256 and 300x200 (width x height), RGB in [0, 1]."""
    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "facades" / "testB"
    files = sorted(folder.glob("*.jpg"))[:2] if folder.is_dir() else []
    if len(files) < 2:
        pytest.skip(f"shared facades not found at {folder}")
    import cv2

    out = []
    for path, (h, w) in zip(files, SIZES, strict=True):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        out.append(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255)
    return out


@pytest.fixture(scope="module")
def keras_outputs(cyclegan_run, facade_photos):
    """{direction: [photo-space output per photo]} of the run's own generators."""
    from translate.runs import load_run

    run = load_run(cyclegan_run)
    out = {}
    for direction in ("AtoB", "BtoA"):
        fn = make_translate_tensor(run.generator(direction), run.task, 4)
        out[direction] = [fn(tf.constant(p[None])).numpy()[0] for p in facade_photos]
    return out


def export(run, tmp_path, *args):
    from translate import api

    fmt = args[0]
    quantize = args[1] if len(args) > 1 else "none"
    return api.export(run, tmp_path / "serving", fmt=fmt, quantize=quantize)


def psnr(a, b) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-20)))


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_float32_files_give_the_runs_output_on_real_photos(cyclegan_run, facade_photos,
                                                           keras_outputs, tmp_path, fmt):
    folder = export(cyclegan_run, tmp_path, fmt)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["files"] == {"AtoB": f"AtoB.{fmt}", "BtoA": f"BtoA.{fmt}"}
    assert (meta["format"], meta["scale"], meta["size_multiple"]) == (fmt, 1, 4)
    worst = 0.0
    for direction in ("AtoB", "BtoA"):
        run = file_runner(folder / meta["files"][direction])
        for photo, expected in zip(facade_photos, keras_outputs[direction], strict=True):
            got = run(photo[None])[0]
            assert got.shape == expected.shape
            worst = max(worst, float(np.abs(got - expected).max()))
    print(f"{fmt} float32: max abs difference to the Keras generator {worst:.1e}")
    assert worst < 1e-4


@pytest.mark.parametrize("quantize, floor", [("float16", 40.0), ("int8", 30.0)])
def test_quantized_tflite_stays_close_to_float32(cyclegan_run, facade_photos, keras_outputs,
                                                 tmp_path, quantize, floor):
    folder = export(cyclegan_run, tmp_path, "tflite", quantize)
    assert folder.name == f"tflite-{quantize}"
    run = file_runner(folder / "AtoB.tflite")
    scores = [psnr(run(p[None])[0], e) for p, e in zip(facade_photos, keras_outputs["AtoB"],
                                                      strict=True)]
    print(f"tflite {quantize}: PSNR against float32 output {[f'{s:.1f}' for s in scores]} dB")
    assert min(scores) >= floor


def test_apply_runs_the_files_with_their_runtimes(cyclegan_run, facade_photos, tmp_path):
    """`translate apply X.onnx|X.tflite` gives the pixels `translate apply RUN` gives."""
    import cv2

    from translate.apply import apply_folder, load_translator

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, p in enumerate(facade_photos):
        cv2.imwrite(str(photos / f"p{i}.png"), cv2.cvtColor((p * 255 + 0.5).astype(np.uint8),
                                                            cv2.COLOR_RGB2BGR))
    onnx_dir = export(cyclegan_run, tmp_path, "onnx")
    tflite_dir = export(cyclegan_run, tmp_path, "tflite")
    results = {}
    for name, source in (("run", cyclegan_run), ("onnx", onnx_dir / "BtoA.onnx"),
                         ("tflite", tflite_dir / "BtoA.tflite")):
        translator = load_translator(source, direction="BtoA")
        apply_folder(translator, photos, tmp_path / name, progress=False)
        results[name] = [cv2.imread(str(tmp_path / name / f"p{i}.png")).astype(int) for i in range(2)]
        if name != "run":
            assert "BtoA" in translator.made_by and name in translator.made_by
    for name in ("onnx", "tflite"):
        assert max(np.abs(a - b).max() for a, b in zip(results[name], results["run"], strict=True)) <= 1
    assert read_file_metadata(onnx_dir / "AtoB.onnx")["direction"] == "AtoB"


def test_superres_and_colorization_keep_their_processing_inside(tmp_path):
    """x2 EDSR (the bicubic skip has no TFLite op: written out with the same weights) and
    colorization (Lab split and merge) export to both formats with the graph's own output."""
    from translate.export_formats import export_files
    from translate.networks import build_generator
    from translate.tasks import TaskConfig, get_task

    x = np.random.default_rng(0).uniform(0, 1, (1, 40, 52, 3)).astype(np.float32)
    cases = [("superres", build_generator("edsr_8blocks", ngf=8, norm="none", scale=2), 1, 2),
             ("colorization", build_generator("unet_128", 1, 2, ngf=8, norm="batch"), 128, 1)]
    for task_name, generator, multiple, scale in cases:
        task = get_task(TaskConfig(name=task_name, scale=scale))
        expected = tf.function(make_translate_tensor(generator, task, multiple))(x).numpy()
        for fmt in ("onnx", "tflite"):
            folder = export_files({"AtoB": generator}, task, multiple, tmp_path / fmt, task_name, fmt)
            got = file_runner(folder / f"AtoB.{fmt}")(x)
            assert got.shape == expected.shape == (1, 40 * scale, 52 * scale, 3)
            assert np.abs(got - expected).max() < 1e-4, (task_name, fmt)


def test_bad_format_options_are_one_line_errors(cyclegan_run, tmp_path):
    from translate import api

    with pytest.raises(UserError, match="--format"):
        api.export(cyclegan_run, tmp_path, fmt="coreml")
    with pytest.raises(UserError, match="--quantize int8 is for --format tflite"):
        api.export(cyclegan_run, tmp_path, fmt="onnx", quantize="int8")
    export(cyclegan_run, tmp_path, "onnx")
    with pytest.raises(UserError, match="already exists"):
        export(cyclegan_run, tmp_path, "onnx")
    stray = tmp_path / "stray.onnx"
    stray.write_bytes(b"not a model")
    with pytest.raises(UserError, match="metadata.json"):
        read_file_metadata(stray)


@pytest.mark.parametrize("fmt, runtime", [("onnx", "ONNX Runtime"), ("tflite", "TFLite / LiteRT")])
def test_documented_client_runs_without_tensorflow(cyclegan_run, facade_photos, keras_outputs,
                                                   tmp_path, fmt, runtime):
    """docs/serving.md's client, in a process that imports neither TensorFlow nor translate,
    translates a PNG to within the float32 tolerance of the run (after 8-bit rounding: 1/255)."""
    import cv2

    export(cyclegan_run, tmp_path, fmt)
    folder = tmp_path / "serving" / "horse2zebra"
    (tmp_path / "serving" / "tiny").rename(folder)
    photo = (facade_photos[1] * 255 + 0.5).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "horse.jpg"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 100])
    client = re.search(rf"## {re.escape(runtime)}.*?```python\n(.*?)```", DOCS.read_text(),
                       flags=re.S).group(1)
    guard = ("\nimport sys\nassert not any(m.split('.')[0] in ('tensorflow', 'translate', 'keras')"
             " for m in sys.modules), sorted(m for m in sys.modules if 'tensorflow' in m)[:5]\n")
    (tmp_path / "client.py").write_text(client + guard)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "client.py"], cwd=tmp_path, capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    got = cv2.cvtColor(cv2.imread(str(tmp_path / "zebra.png")), cv2.COLOR_BGR2RGB)
    decoded = cv2.cvtColor(cv2.imread(str(tmp_path / "horse.jpg")), cv2.COLOR_BGR2RGB)
    from translate.runs import load_run

    run = load_run(cyclegan_run)
    fn = make_translate_tensor(run.generator("AtoB"), run.task, 4)
    expected = fn(tf.constant(decoded[None].astype(np.float32) / 255)).numpy()[0]
    assert np.abs(got.astype(np.float32) / 255 - expected).max() <= 1.01 / 255
