"""`translate export`: SavedModels that TF Serving loads as is, checked the way a server uses them.

One tiny two-direction export (ResNet generators, ngf 8) is shared by the module: saving a
SavedModel takes seconds, reading it back much less.
"""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import write_run

from translate.errors import UserError
from translate.export import (
    METADATA_FILE,
    WARMUP_FILE,
    export_generators,
    read_export_metadata,
    warmup_inputs,
    write_warmup_requests,
)
from translate.networks import build_generator
from translate.padding import reflect_pad_to_multiple
from translate.tasks import TranslationTask

DOCS = Path(__file__).resolve().parents[1] / "docs" / "serving.md"
MULTIPLE = 4  # resnet generators


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """OUTPUT_BASE/tiny/1 with AtoB (instance norm) and BtoA (batch norm, inference statistics)."""
    keras.utils.set_random_seed(0)
    generators = {
        "AtoB": build_generator("resnet_6blocks", ngf=8, norm="instance"),
        "BtoA": build_generator("resnet_6blocks", ngf=8, norm="batch", dropout=True),
    }
    base = tmp_path_factory.mktemp("serving")
    path = export_generators(generators, TranslationTask(), MULTIPLE, base, "tiny")
    return path, generators


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported[0]))


def photos(seed=0, n=2, height=30, width=45):
    """Smooth random photos in [0, 1], sizes that are not multiples of the generator's 4."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (n, 6, 8, 3)).astype(np.float32)
    return tf.image.resize(coarse, (height, width)).numpy().clip(0, 1)


def encode(photo01, fmt="png") -> bytes:
    pixels = tf.image.convert_image_dtype(photo01, tf.uint8, saturate=True)
    encoder = tf.io.encode_png if fmt == "png" else tf.io.encode_jpeg
    return encoder(pixels).numpy()


def reference(generator, photo_batch, multiple=MULTIPLE):
    """What the export must compute, written independently: numpy reflect pad, model, crop."""
    _, h, w, _ = photo_batch.shape
    ph, pw = -h % multiple, -w % multiple
    pad = ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))
    out = generator(np.pad(photo_batch, pad, mode="reflect") * 2 - 1, training=False).numpy()
    return np.clip((out[:, pad[1][0] : pad[1][0] + h, pad[2][0] : pad[2][0] + w] + 1) / 2, 0, 1)


def test_layout_version_and_metadata(exported):
    path, _ = exported
    assert path.name == "1" and path.parent.name == "tiny"
    assert (path / "saved_model.pb").is_file() and (path / WARMUP_FILE).is_file()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no staging left
    info = read_export_metadata(path.parent)  # the model folder finds its highest version
    assert info["directions"] == ["AtoB", "BtoA"] and info["default_direction"] == "AtoB"
    assert info["signatures"]["BtoA"] == {
        "images": "translate_BtoA",
        "tensor": "translate_tensor_BtoA",
    }
    assert (info["scale"], info["size_multiple"]) == (1, MULTIPLE)
    assert json.loads((path / METADATA_FILE).read_text()) == info
    card = (path / "README.md").read_text()  # the model card travels with the export
    assert "`translate_tensor_BtoA`" in card and "multiple of 4" in card.replace("\n", " ")


def test_an_export_is_readable_by_other_users_as_the_umask_allows(exported):
    """mkdtemp makes 0700 folders: TF Serving running as another user could not read them."""
    import stat

    from translate.io_utils import _read_umask

    path, umask = exported[0], _read_umask()  # the usual 022: r-x (folders), r (files) for all
    assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask
    for item in path.rglob("*"):
        mode, readable = stat.S_IMODE(item.stat().st_mode), 0o444 & ~umask
        assert mode & readable == readable, f"{item} is {oct(mode)}"


def test_atomic_writes_get_the_umask_permissions_of_a_normal_file(tmp_path):
    import os
    import stat

    from translate.io_utils import atomic_write_text

    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        (tmp_path / "normal.txt").write_text("x")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"a.txt": 0o640, "normal.txt": 0o640}


def test_refuses_to_overwrite_a_version_and_checks_the_name(exported):
    path, generators = exported
    with pytest.raises(UserError, match="already exists"):
        export_generators(generators, TranslationTask(), MULTIPLE, path.parent.parent, "tiny", 1)
    with pytest.raises(UserError, match="--name"):
        export_generators(generators, TranslationTask(), MULTIPLE, path.parent.parent, "a/b")
    with pytest.raises(UserError, match="--version"):
        export_generators(generators, TranslationTask(), MULTIPLE, path.parent.parent, "x", 0)


FRESH_PROCESS = r"""
import sys
import numpy as np
import tensorflow as tf

export_dir, inputs, outputs = sys.argv[1:]
data = np.load(inputs, allow_pickle=True)
model = tf.saved_model.load(export_dir)
result = {}
for sig in ("translate_tensor", "translate_tensor_AtoB", "translate_tensor_BtoA"):
    result[sig] = model.signatures[sig](images=tf.constant(data["photos"]))["images"].numpy()
for sig in ("serving_default", "translate_BtoA"):
    out = model.signatures[sig](images=tf.constant(list(data["encoded"])))
    result[sig + "_png"] = np.array(list(out["images_bytes"].numpy()), dtype=object)
    result[sig + "_hw"] = np.stack([out["height"].numpy(), out["width"].numpy()], -1)
try:
    model.signatures["serving_default"](images=tf.constant([data["encoded"][0], b"not an image"]))
    result["bad_error"] = np.array("no error")
except tf.errors.InvalidArgumentError as e:
    result["bad_error"] = np.array(e.message)
again = model.signatures["serving_default"](images=tf.constant(list(data["encoded"][:1])))
result["after_error_hw"] = np.array([again["height"].numpy()[0], again["width"].numpy()[0]])
result["translate_imported"] = np.array(any(m.split(".")[0] == "translate" for m in sys.modules))
np.savez(outputs, **result)
"""


def test_fresh_tensorflow_process_matches_the_in_process_model(exported, tmp_path):
    path, generators = exported
    batch = photos()
    encoded = [encode(batch[0]), encode(photos(seed=1, n=1, height=20, width=28)[0], "jpeg")]
    np.savez(tmp_path / "in.npz", photos=batch, encoded=np.array(encoded, dtype=object))
    (tmp_path / "client.py").write_text(FRESH_PROCESS)
    proc = subprocess.run(
        [sys.executable, "client.py", str(path), "in.npz", "out.npz"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz", allow_pickle=True)
    assert not out["translate_imported"]

    # The tensor signature is the model, to float precision, at any size.
    for sig, direction in [
        ("translate_tensor", "AtoB"),
        ("translate_tensor_AtoB", "AtoB"),
        ("translate_tensor_BtoA", "BtoA"),
    ]:
        expected = reference(generators[direction], batch)
        assert out[sig].shape == batch.shape
        assert np.abs(out[sig] - expected).max() < 1e-4, sig
    assert np.abs(out["translate_tensor_AtoB"] - out["translate_tensor_BtoA"]).max() > 1e-2

    # The image signature: PNGs of each input's size, equal to the tensor path up to 8-bit rounding.
    for sig, direction in [("serving_default", "AtoB"), ("translate_BtoA", "BtoA")]:
        assert out[sig + "_hw"].tolist() == [[30, 45], [20, 28]]
        for png, data in zip(out[sig + "_png"], encoded, strict=True):
            decoded = tf.io.decode_png(png).numpy()
            source = tf.image.convert_image_dtype(tf.io.decode_image(data), tf.float32)[None]
            expected = reference(generators[direction], source.numpy())[0] * 255
            assert decoded.shape == expected.shape and decoded.dtype == np.uint8
            assert np.abs(decoded - expected).max() <= 1  # TF rounds floor(x * 255.5)

    # A non-image in the batch: a clear error for that request, and the model keeps serving.
    assert "Unknown image file format" in str(out["bad_error"])
    assert out["after_error_hw"].tolist() == [30, 45]


def saved_model_cli(*args) -> str:
    cli = Path(sys.executable).with_name("saved_model_cli")
    command = (
        [str(cli)]
        if cli.exists()
        else [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    )
    proc = subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_saved_model_cli_lists_the_signatures_with_dtypes_and_shapes(exported):
    listing = saved_model_cli("show", "--all", "--dir", str(exported[0]))
    blocks = {
        name: block
        for name, block in re.findall(
            r"signature_def\['([^']+)'\]:(.*?Method name is: \S*)", listing, flags=re.S
        )
    }
    image_sigs = ["serving_default", "translate_AtoB", "translate_BtoA"]
    tensor_sigs = ["translate_tensor", "translate_tensor_AtoB", "translate_tensor_BtoA"]
    assert set(image_sigs + tensor_sigs) <= set(blocks)

    def tensor(block, io, name):
        match = re.search(
            rf"{io}\['{name}'\] tensor_info:\s+dtype: (\S+)\s+shape: (\(.*?\))", block
        )
        return match and match.groups()

    for sig in image_sigs:
        assert tensor(blocks[sig], "inputs", "images") == ("DT_STRING", "(-1)")
        assert tensor(blocks[sig], "outputs", "images_bytes") == ("DT_STRING", "(-1)")
        assert tensor(blocks[sig], "outputs", "height") == ("DT_INT32", "(-1)")
        assert tensor(blocks[sig], "outputs", "width") == ("DT_INT32", "(-1)")
    for sig in tensor_sigs:
        assert tensor(blocks[sig], "inputs", "images") == ("DT_FLOAT", "(-1, -1, -1, 3)")
        assert tensor(blocks[sig], "outputs", "images") == ("DT_FLOAT", "(-1, -1, -1, 3)")
    for sig in image_sigs + tensor_sigs:
        assert blocks[sig].endswith("Method name is: tensorflow/serving/predict")


def _from_json(value):
    """TF Serving's REST decoding: {"b64": ...} objects become bytes."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _to_json(outputs: dict) -> dict:
    """TF Serving's REST answer in row format: outputs named *_bytes come back as {"b64": ...}."""
    columns = {k: v.numpy().tolist() for k, v in outputs.items()}
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    for row in rows:
        for key in row:
            if key.endswith("_bytes"):
                row[key] = {"b64": base64.b64encode(row[key]).decode()}
    return {"predictions": rows}


def test_documented_rest_request_gives_a_valid_image(loaded):
    template = re.search(r"printf '(\{.*?\})'", DOCS.read_text()).group(1)
    image = encode(photos(n=1, height=37, width=50)[0], "jpeg")
    body = json.loads(template.replace("%s", base64.b64encode(image).decode()))
    # Row format with one named input: each instance is a value of `images`.
    request = {"images": tf.constant(_from_json(body["instances"]))}
    answer = json.loads(json.dumps(_to_json(loaded.signatures[body["signature_name"]](**request))))
    # The documented `jq -r '.predictions[0].images_bytes.b64' | base64 -d`:
    png = base64.b64decode(answer["predictions"][0]["images_bytes"]["b64"])
    assert png.startswith(b"\x89PNG")
    assert tf.io.decode_png(png).shape == (37, 50, 3)
    assert answer["predictions"][0]["height"] == 37 and answer["predictions"][0]["width"] == 50


def test_documented_grpc_client_runs_against_the_export(loaded, tmp_path, monkeypatch):
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Stub:  # answers Predict from the SavedModel, as the server does
        def __init__(self, channel):
            pass

        def Predict(self, request, timeout=None):  # noqa: N802 (the gRPC method's name)
            inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
            outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
            response = predict_pb2.PredictResponse()
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    monkeypatch.setattr(prediction_service_pb2_grpc, "PredictionServiceStub", Stub)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "horse.jpg").write_bytes(encode(photos(n=1, height=24, width=33)[0], "jpeg"))
    client = re.search(r"## gRPC.*?```python\n(.*?)```", DOCS.read_text(), flags=re.S).group(1)
    exec(compile(client, "docs/serving.md", "exec"), {})
    assert tf.io.decode_png((tmp_path / "zebra.png").read_bytes()).shape == (24, 33, 3)


def test_warmup_requests_are_prediction_logs_that_run(exported, loaded):
    from tensorflow_serving.apis import prediction_log_pb2

    signatures = set()
    for record in tf.data.TFRecordDataset(str(exported[0] / WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        assert request.model_spec.name == "tiny"
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
        images = outputs.get("images", outputs.get("images_bytes"))
        assert images.shape[0] == 1
        signatures.add(request.model_spec.signature_name)
    assert signatures == {
        "serving_default",
        "translate_AtoB",
        "translate_BtoA",
        "translate_tensor",
        "translate_tensor_AtoB",
        "translate_tensor_BtoA",
    }


def test_warmup_records_are_written_without_the_serving_package(tmp_path, monkeypatch):
    """The README's install has no tensorflow-serving-api: the records are encoded by hand and
    must be byte for byte what that package's protos give."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    from translate.export import prediction_log

    encoded, photo = warmup_inputs(8)
    for inputs in ({"images": encoded}, {"images": photo}):
        request = predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = "tiny", "translate_AtoB"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(inputs["images"]))
        expected = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        ours = prediction_log("tiny", "translate_AtoB", inputs)
        assert prediction_log_pb2.PredictionLog.FromString(ours) == expected
        assert ours == expected.SerializeToString(deterministic=True)
    for name in ("tensorflow_serving", "tensorflow_serving.apis"):
        monkeypatch.setitem(sys.modules, name, None)  # as on the README's install
    write_warmup_requests(tmp_path / "warmup", "tiny", {"serving_default": "images"}, 8)
    assert len(list(tf.data.TFRecordDataset(str(tmp_path / "warmup")))) == 1


def test_bad_bytes_give_the_decoder_message_not_a_crash(loaded):
    serve = loaded.signatures["serving_default"]
    for bad in [b"", b"not an image", b"\x89PNG\r\n\x1a\n truncated"]:
        with pytest.raises(tf.errors.InvalidArgumentError, match="(?i)image|png|empty"):
            serve(images=tf.constant([encode(photos(n=1)[0]), bad]))
    assert serve(images=tf.constant([encode(photos(n=1)[0])]))["height"].numpy().tolist() == [30]


def test_reflect_pad_handles_pads_longer_than_the_image():
    # A 5-pixel-wide image padded to a multiple of 16 (U-Net's 256 on a small photo is the same).
    image = np.arange(3 * 5, dtype=np.float32).reshape(1, 3, 5, 1)
    padded, top, left = reflect_pad_to_multiple(tf.constant(image), 16)
    expected = np.pad(image, ((0, 0), (6, 7), (5, 6), (0, 0)), mode="reflect")
    assert (int(top), int(left)) == (6, 5)
    np.testing.assert_array_equal(padded.numpy(), expected)


class GrayUpscale:
    """A task of another shape: grey input (1 channel) and twice the size out."""

    name, input_channels, output_channels, scale = "gray_x2", 1, 3, 2

    def to_model(self, image01):
        return tf.image.rgb_to_grayscale(image01) * 2 - 1

    def from_model(self, output, image01=None):
        return tf.clip_by_value((output + 1) / 2, 0, 1)


def test_task_channels_and_scale_live_in_the_graph(exported):
    keras.utils.set_random_seed(1)
    generator = keras.Sequential(
        [
            keras.Input((None, None, 1)),
            keras.layers.UpSampling2D(2),
            keras.layers.Conv2D(3, 3, padding="same", activation="tanh"),
        ]
    )
    base = exported[0].parent.parent
    path = export_generators({"AtoB": generator}, GrayUpscale(), 8, base, "tiny", warmup=False)
    assert path.name == "2"  # the next free version beside the shared export
    model = tf.saved_model.load(str(path))
    assert set(model.signatures) == {
        "serving_default",
        "translate_AtoB",
        "translate_tensor",
        "translate_tensor_AtoB",
    }
    batch = photos(n=1, height=13, width=21)
    out = model.signatures["translate_tensor"](images=tf.constant(batch))["images"].numpy()
    ph, pw = -13 % 8, -21 % 8
    padded = np.pad(
        batch, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="reflect"
    )
    full = GrayUpscale().from_model(generator(GrayUpscale().to_model(padded))).numpy()
    expected = full[:, 2 * (ph // 2) : 2 * (ph // 2 + 13), 2 * (pw // 2) : 2 * (pw // 2 + 21)]
    assert out.shape == (1, 26, 42, 3)
    assert np.abs(out - expected).max() < 1e-4
    png = model.signatures["serving_default"](images=tf.constant([encode(batch[0])]))
    assert (int(png["height"][0]), int(png["width"][0])) == (26, 42)
    assert not (path / WARMUP_FILE).exists()


def test_colorization_runs_in_lab_inside_the_graph(exported):
    from translate.tasks import ColorizationTask

    task = ColorizationTask()
    keras.utils.set_random_seed(2)
    generator = keras.Sequential(
        [keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3, padding="same")]
    )
    base = exported[0].parent.parent
    path = export_generators({"AtoB": generator}, task, MULTIPLE, base, "color", warmup=False)
    model = tf.saved_model.load(str(path))
    batch = photos(n=1, height=32, width=44)  # a multiple of 4: no padding, the eager path as is
    out = model.signatures["translate_tensor"](images=tf.constant(batch))["images"].numpy()
    expected = task.from_model(generator(task.to_model(batch), training=False), batch).numpy()
    assert out.shape == batch.shape
    assert np.abs(out - expected).max() < 1e-4
    answer = model.signatures["serving_default"](images=tf.constant([encode(photos()[0])]))
    assert tf.io.decode_png(answer["images_bytes"][0]).shape == (30, 45, 3)


# ---------------------------------------------------------------------------------------------
# From a run directory, through the command line.


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    """A run directory as `translate fit` leaves it: config.yaml and checkpoints/latest."""
    from translate.config import Config
    from translate.models import CycleGANOptions, build_model

    config = Config(
        name="tinyrun",
        model=CycleGANOptions(netG="resnet_6blocks", ngf=8, ndf=8),
    )
    model = build_model(config.model, config.train)
    rng = np.random.default_rng(3)
    for direction in ("AtoB", "BtoA"):  # weights no fresh build can reproduce: restore must work
        for variable in model.generator_for(direction).trainable_variables:
            variable.assign_add(rng.normal(0, 0.05, variable.shape).astype(np.float32))
    return write_run(tmp_path_factory.mktemp("runs") / "tinyrun-1", config, model), model


def translate_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "translate.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow  # a fresh process importing translate, then a full export: end to end
def test_cli_exports_a_run_with_both_directions(cyclegan_run, tmp_path):
    run, model = cyclegan_run
    proc = translate_cli("export", str(run), str(tmp_path / "serving"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = tmp_path / "serving" / "tinyrun" / "1"  # NAME: the run's name; VERSION: the first
    assert f"exported {path}" in proc.stdout
    info = read_export_metadata(path)
    assert info["directions"] == ["AtoB", "BtoA"] and info["model_kind"] == "cyclegan"
    loaded = tf.saved_model.load(str(path))
    batch = photos(seed=4, n=1, height=26, width=31)
    for direction in ("AtoB", "BtoA"):
        out = loaded.signatures[f"translate_tensor_{direction}"](images=tf.constant(batch))
        expected = reference(model.generator_for(direction), batch)
        assert np.abs(out["images"].numpy() - expected).max() < 1e-4, direction


def test_one_direction_and_explicit_version(cyclegan_run, tmp_path):
    from translate.export import export_run

    run, model = cyclegan_run
    path = export_run(run, tmp_path, name="zebra2horse", version=5, direction="BtoA", warmup=False)
    assert path == tmp_path / "zebra2horse" / "5"
    assert read_export_metadata(path)["default_direction"] == "BtoA"
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {
        "serving_default",
        "translate_BtoA",
        "translate_tensor",
        "translate_tensor_BtoA",
    }
    batch = photos(seed=5, n=1, height=16, width=20)
    out = loaded.signatures["translate_tensor"](images=tf.constant(batch))["images"].numpy()
    assert np.abs(out - reference(model.generator_for("BtoA"), batch)).max() < 1e-4
    with pytest.raises(UserError, match="--direction"):
        export_run(run, tmp_path, direction="both-ways")


def test_cli_errors_are_one_line(tmp_path):
    for args in (
        ["export", str(tmp_path / "no-run"), str(tmp_path / "out")],
        ["export", str(tmp_path), str(tmp_path / "out"), "--version", "0"],
    ):
        proc = translate_cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
