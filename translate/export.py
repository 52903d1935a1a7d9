"""SavedModels that TF Serving loads as is: OUTPUT_BASE/NAME/VERSION/, the layout it watches.

Everything between a photo and a photo is inside the graph (decode, reflect-pad to the
generator's size multiple, the task's colour space and scale, crop back, PNG encode), so a client
needs nothing of `translate`. Signatures (method tensorflow/serving/predict), per direction D:

    translate_D          images: string [N], encoded JPEG/PNG/WebP/BMP/GIF of any sizes
                         -> images_bytes: string [N] PNG, height: int32 [N], width: int32 [N]
    translate_tensor_D   images: float32 [N, H, W, 3], RGB in [0, 1]
                         -> images: float32 [N, H*scale, W*scale, 3], RGB in [0, 1]

plus `serving_default` and `translate_tensor` for the default direction (AtoB when exported).
The PNG output is called `images_bytes` because TF Serving's REST API base64-encodes only the
string outputs whose name ends in `_bytes` (tensorflow_serving/util/json_tensor.cc); under any
other name the raw PNG bytes would land in the JSON answer.

Next to the graph, assets.extra/ holds translate.json (what `apply` needs to use an export
without guessing) and tf_serving_warmup_requests (one PredictionLog per signature).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from translate import __version__
from translate.data.config import DIRECTIONS
from translate.errors import UserError
from translate.io_utils import publish_mode
from translate.padding import reflect_pad_to_multiple

PHOTO_CHANNELS = 3  # clients send and get RGB photos, whatever the model's own space is
METADATA_FILE = "assets.extra/translate.json"
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"
FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ---------------------------------------------------------------------------------------------
# The graph: photos in [0, 1] -> photos in [0, 1], and encoded images -> PNG.


def make_translate_tensor(generator: keras.Model, task, size_multiple: int):
    """float32 [N, H, W, 3] photos in [0, 1] -> float32 [N, H*scale, W*scale, 3] photos in [0, 1].

    Pads in photo space (the task's to_model works per pixel), crops the output back to scale x
    the input, and gives from_model the original photo (colorization keeps its L channel).
    Inference mode: dropout off, batch norm with its moving statistics.
    """
    scale = int(task.scale)

    def translate_tensor(images: tf.Tensor) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        padded, top, left = reflect_pad_to_multiple(images, size_multiple)
        output = generator(task.to_model(padded), training=False)
        output = output[
            :, scale * top : scale * (top + height), scale * left : scale * (left + width)
        ]
        return task.from_model(output, images)

    return translate_tensor


def make_translate_images(translate_tensor):
    """string [N] encoded images -> {images_bytes: PNG [N], height: int32 [N], width: int32 [N]}.

    One image at a time (tf.map_fn), so a batch may mix sizes and formats. A byte string that is
    not an image fails the whole request with the decoder's InvalidArgument message, which TF
    Serving returns as an error answer; the server keeps running.
    """

    def translate_one(data: tf.Tensor):
        image = tf.io.decode_image(data, channels=PHOTO_CHANNELS, expand_animations=False)
        output = translate_tensor(tf.image.convert_image_dtype(image, tf.float32)[None])[0]
        png = tf.io.encode_png(tf.image.convert_image_dtype(output, tf.uint8, saturate=True))
        return png, tf.shape(output)[0], tf.shape(output)[1]

    def translate_images(images: tf.Tensor) -> dict[str, tf.Tensor]:
        pngs, heights, widths = tf.map_fn(
            translate_one, images, fn_output_signature=(tf.string, tf.int32, tf.int32)
        )
        return {"images_bytes": pngs, "height": heights, "width": widths}

    return translate_images


IMAGES_SPEC = tf.TensorSpec([None], tf.string, name="images")
TENSOR_SPEC = tf.TensorSpec([None, None, None, PHOTO_CHANNELS], tf.float32, name="images")


def signature_names(directions: list[str]) -> dict[str, dict[str, str]]:
    """{direction: {"images": signature, "tensor": signature}}, as written into translate.json."""
    return {d: {"images": f"translate_{d}", "tensor": f"translate_tensor_{d}"} for d in directions}


# ---------------------------------------------------------------------------------------------
# Writing OUTPUT_BASE/NAME/VERSION/.


def next_version(model_dir: str | Path) -> int:
    """One more than the highest integer version folder (1 for none): what TF Serving serves next."""
    model_dir = Path(model_dir)
    versions = (
        [int(p.name) for p in model_dir.iterdir() if p.name.isdigit()] if model_dir.is_dir() else []
    )
    return max(versions, default=0) + 1


def provenance(task, size_multiple: int) -> dict:
    """The metadata every export format writes first: who made it, when, and the task's shape."""
    return {
        "translate_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "task": getattr(task, "name", type(task).__name__),
        "scale": int(task.scale),
        "size_multiple": int(size_multiple),
    }


def _check_target(output_base: Path, name: str, version: int | None) -> Path:
    if not _NAME_RE.match(name or ""):
        raise UserError(
            f"--name {name!r}: a model name is letters, digits, '.', '_' or '-' (TF Serving puts it "
            "in the URL); pick e.g. --name horse2zebra"
        )
    if version is not None and (isinstance(version, bool) or int(version) < 1):
        raise UserError(
            f"--version {version}: versions are integers from 1; omit it for the next free one"
        )
    model_dir = output_base / name
    if model_dir.exists() and not model_dir.is_dir():
        raise UserError(
            f"{model_dir} exists and is not a folder; choose another OUTPUT_BASE or --name"
        )
    if version is not None and (model_dir / str(version)).exists():
        raise UserError(
            f"{model_dir / str(version)} already exists; exports never overwrite a version: "
            "omit --version for the next free one or pick another"
        )
    return model_dir


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2): tag, length, bytes."""

    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte, value = value & 0x7F, value >> 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(out)

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def prediction_log(model_name: str, signature: str, inputs: dict[str, tf.Tensor]) -> bytes:
    """A serialized tensorflow.serving.PredictionLog holding one PredictRequest.

    Written field by field (PredictionLog.predict_log = 6, PredictLog.request = 1,
    PredictRequest.model_spec = 1 and inputs = 2, ModelSpec.name = 1 and signature_name = 3) so
    that an export needs no tensorflow-serving-api; the tests parse it with that package.
    """
    spec = _field(1, model_name.encode()) + _field(3, signature.encode())
    request = _field(1, spec)
    for key, value in inputs.items():
        entry = _field(1, key.encode()) + _field(2, tf.make_tensor_proto(value).SerializeToString())
        request += _field(2, entry)
    return _field(6, _field(1, request))


def warmup_inputs(size_multiple: int) -> tuple[np.ndarray, np.ndarray]:
    """A small photo (PNG bytes [1] and float32 [1, H, W, 3]): the smallest multiple >= 64."""
    side = size_multiple * math.ceil(64 / size_multiple)
    ramp = np.linspace(0.0, 1.0, side, dtype=np.float32)
    photo = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 0.5 * ramp[:, None]), -1)
    png = tf.io.encode_png(tf.image.convert_image_dtype(photo, tf.uint8)).numpy()
    return np.array([png], dtype=object), photo[None]


def write_warmup_requests(
    path: Path, model_name: str, signatures: dict[str, str], size_multiple: int
):
    """One PredictionLog per signature in TF Serving's warm-up format (a TFRecord file).

    signatures maps a signature name to its input kind, "images" or "tensor".
    """
    encoded, photo = warmup_inputs(size_multiple)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, kind in signatures.items():
            images = encoded if kind == "images" else photo
            writer.write(prediction_log(model_name, signature, {"images": images}))


def _named_output(fn, name: str):
    """Signatures need named outputs: wrap a tensor function's result as {name: result}."""

    def named(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return {name: fn(images)}

    return named


def _save_model(
    generators: dict[str, keras.Model], task, size_multiple: int, default: str, path: Path
) -> dict[str, str]:
    """Write the SavedModel; returns {signature name: "images" | "tensor"}."""
    archive = keras.export.ExportArchive()
    kinds = {}
    for direction, generator in generators.items():
        archive.track(generator)
        tensor_fn = make_translate_tensor(generator, task, size_multiple)
        images_fn = make_translate_images(tensor_fn)
        endpoints = {
            f"translate_tensor_{direction}": (_named_output(tensor_fn, "images"), TENSOR_SPEC),
            f"translate_{direction}": (images_fn, IMAGES_SPEC),
        }
        for name, (fn, spec) in endpoints.items():
            traced = archive.add_endpoint(name, fn, input_signature=[spec])
            kinds[name] = "tensor" if spec is TENSOR_SPEC else "images"
            if direction == default:
                # The default aliases share the traced function: no second copy of the graph.
                alias = "translate_tensor" if spec is TENSOR_SPEC else "serving_default"
                traced.get_concrete_function()
                archive.add_endpoint(alias, traced)
                kinds[alias] = kinds[name]
    archive.write_out(str(path), verbose=False)
    return kinds


def export_generators(
    generators: dict[str, keras.Model],
    task,
    size_multiple: int,
    output_base: str | Path,
    name: str,
    version: int | None = None,
    metadata: dict | None = None,
    warmup: bool = True,
) -> Path:
    """Export bare generators ({"AtoB": g, "BtoA": g}) as OUTPUT_BASE/NAME/VERSION/; returns it.

    The version folder is written under a hidden temporary name and renamed at the end, so TF
    Serving (which ignores non-integer names) never loads half an export.
    """
    if not generators or set(generators) - set(DIRECTIONS):
        raise UserError(
            f"directions to export must be among {', '.join(DIRECTIONS)} (got {sorted(generators)})"
        )
    if int(size_multiple) < 1:
        raise ValueError(f"size_multiple must be >= 1 (got {size_multiple})")
    output_base = Path(output_base)
    model_dir = _check_target(output_base, name, version)
    directions = [d for d in DIRECTIONS if d in generators]
    default = "AtoB" if "AtoB" in generators else directions[0]

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=model_dir))
    try:
        kinds = _save_model(generators, task, int(size_multiple), default, staging)
        if warmup:
            write_warmup_requests(staging / WARMUP_FILE, name, kinds, int(size_multiple))
        info = {
            "format": FORMAT_VERSION,
            **provenance(task, size_multiple),
            "padding": "reflect, centred, cropped back",
            "photo_channels": PHOTO_CHANNELS,
            "input_channels": int(task.input_channels),
            "output_channels": int(task.output_channels),
            "directions": directions,
            "default_direction": default,
            "signatures": signature_names(directions),
            "warmup": bool(warmup),
            **(metadata or {}),
        }
        (staging / METADATA_FILE).parent.mkdir(parents=True, exist_ok=True)
        (staging / METADATA_FILE).write_text(json.dumps(info, indent=2) + "\n")
        from translate.model_card import CARD_FILE, export_card

        (staging / CARD_FILE).write_text(export_card(info, info.get("source_run")))
        publish_mode(staging, directory=True)
        return _publish(staging, model_dir, version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, model_dir: Path, version: int | None) -> Path:
    """Rename the staging folder to its version; never onto an existing version."""
    while True:
        target = model_dir / str(version if version is not None else next_version(model_dir))
        if target.exists():
            if version is not None:
                raise UserError(f"{target} already exists; exports never overwrite a version")
            continue  # another export took it meanwhile: next_version moves on
        try:
            os.rename(staging, target)
            return target
        except OSError:
            if version is not None or not target.exists():
                raise


def export_run(
    run_dir: str | Path,
    output_base: str | Path,
    name: str | None = None,
    version: int | None = None,
    direction: str = "both",
    epoch: int | None = None,
    warmup: bool = True,
    fmt: str = "saved_model",
    quantize: str = "none",
) -> Path:
    """Export a trained run (`translate export RUN OUTPUT_BASE`); returns OUTPUT_BASE/NAME/VERSION,
    or for fmt onnx/tflite OUTPUT_BASE/NAME/<format>[-<quantize>] (translate.export_formats)."""
    from translate.export_formats import check_format, export_files
    from translate.networks import generator_size_multiple
    from translate.runs import load_run

    if direction not in ("both", *DIRECTIONS):
        raise UserError(f"--direction must be both, AtoB or BtoA (got {direction!r})")
    check_format(fmt, quantize)
    run = load_run(run_dir, epoch=epoch)
    config = run.config
    directions = run.directions() if direction == "both" else [direction]
    generators = {d: run.generator(d) for d in directions}
    multiple = math.lcm(
        generator_size_multiple(config.model.netG), int(getattr(run.task, "size_multiple", 1))
    )
    task_config = config.task
    metadata = {
        "model_kind": config.model.kind,
        "netG": config.model.netG,
        "source_run": str(Path(run_dir).resolve()),
        "epoch": epoch,
        "run_name": config.name,
        "task_config": dataclasses.asdict(task_config)
        if dataclasses.is_dataclass(task_config)
        else None,
        "data_direction": getattr(config.data, "direction", None),
    }
    if fmt != "saved_model":
        if version is not None:
            raise UserError(f"--version is for --format saved_model (TF Serving's folders), not {fmt}")
        return export_files(
            generators, run.task, multiple, output_base, name or config.name, fmt, quantize,
            metadata=metadata,
        )
    return export_generators(
        generators,
        run.task,
        multiple,
        output_base,
        name or config.name,
        version=version,
        metadata=metadata,
        warmup=warmup,
    )


# ---------------------------------------------------------------------------------------------
# Reading an export back (for `translate apply` and `evaluate`).


def is_export_dir(path: str | Path) -> bool:
    return (Path(path) / "saved_model.pb").is_file()


def find_export(path: str | Path) -> Path:
    """A version folder, given it or its model folder (then the highest version, as TF Serving)."""
    path = Path(path)
    if is_export_dir(path):
        return path
    if path.is_dir():
        versions = sorted(
            int(p.name) for p in path.iterdir() if p.name.isdigit() and is_export_dir(p)
        )
        if versions:
            return path / str(versions[-1])
    raise UserError(f"{path} is not an export (no saved_model.pb in it or in a numbered subfolder)")


def read_export_metadata(path: str | Path) -> dict:
    """translate.json of an export (a version folder or its model folder)."""
    version_dir = find_export(path)
    meta = version_dir / METADATA_FILE
    if not meta.is_file():
        raise UserError(
            f"{version_dir} has no {METADATA_FILE}: it was not written by `translate export`"
        )
    return json.loads(meta.read_text())
