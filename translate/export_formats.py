"""ONNX and TFLite files of a run's generators, for runtimes without TensorFlow.

    translate export RUN OUTPUT --format onnx                      # ONNX Runtime, Triton, web
    translate export RUN OUTPUT --format tflite --quantize float16  # LiteRT on phones and edge

writes OUTPUT/NAME/<format>[-<quantize>]/ (beside TF Serving's numbered versions, which it
ignores) with one `<direction>.onnx` / `<direction>.tflite` per direction and `metadata.json`.
Each file is the SavedModel's `translate_tensor` signature: float32 [N, H, W, 3] RGB in [0, 1],
NHWC, any H and W -> float32 [N, H*scale, W*scale, 3] RGB in [0, 1]. Inside: the reflect padding
to the size multiple, the task's colour space (colorization's Lab split and merge) and the crop
back. Outside, the caller's: decoding and encoding files, and batching photos of one size.

Both are traced with translate.networks.cpu_kernels.portable_ops (the framework's own convs, the
transposed conv's padding as a crop: the same maths). ONNX through tf2onnx (opset 17), TFLite
through TensorFlow's converter from a SavedModel of the same function (from concrete functions
it gave wrong outputs); `--quantize float16` stores float16 weights, `int8` is dynamic-range
quantization (int8 weights, float activations). Measured errors: tests/test_export_formats.py.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from translate.errors import UserError

FILE_FORMATS = {"onnx": ".onnx", "tflite": ".tflite"}
FORMATS = ("saved_model", *FILE_FORMATS)
QUANTIZATIONS = ("none", "float16", "int8")
METADATA = "metadata.json"
ONNX_OPSET = 17
EXTRAS = {"onnx": "onnx", "tflite": "tflite"}  # the pip extra each format's tools come in


def require(module: str, extra: str, why: str):
    """Import `module`, or a one-line UserError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(f"{why} needs {module}: pip install 'image-translate[{extra}]'") from None


def check_format(fmt: str, quantize: str) -> None:
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZATIONS:
        raise UserError(f"--quantize {quantize}: choose one of {', '.join(QUANTIZATIONS)}")
    if quantize != "none" and fmt != "tflite":
        raise UserError(f"--quantize {quantize} is for --format tflite (got --format {fmt})")


def folder_name(fmt: str, quantize: str = "none") -> str:
    return fmt if quantize == "none" else f"{fmt}-{quantize}"


def export_files(
    generators: dict, task, size_multiple: int, output_base: str | Path, name: str, fmt: str,
    quantize: str = "none", metadata: dict | None = None,
) -> Path:
    """Write OUTPUT_BASE/NAME/<format>[-<quantize>]/ and return it; never over an existing one."""
    from translate.export import _check_target, provenance

    check_format(fmt, quantize)
    if fmt == "onnx":
        require("tf2onnx", EXTRAS[fmt], "--format onnx")
    model_dir = _check_target(Path(output_base), name, None)
    target = model_dir / folder_name(fmt, quantize)
    if target.exists():
        raise UserError(
            f"{target} already exists; exports never overwrite: remove it or give another --name"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{fmt}-", dir=model_dir))
    try:
        files = {}
        for direction, generator in generators.items():
            files[direction] = f"{direction}{FILE_FORMATS[fmt]}"
            path = staging / files[direction]
            if fmt == "onnx":
                write_onnx(generator, task, size_multiple, path)
            else:
                write_tflite(generator, task, size_multiple, path, quantize)
        info = {
            "format": fmt,
            "quantize": quantize,
            **provenance(task, size_multiple),
            "input": "float32 [N, H, W, 3] RGB in [0, 1], NHWC, any H and W",
            "output": "float32 [N, H*scale, W*scale, 3] RGB in [0, 1]",
            "inside": "reflect padding to size_multiple, the task's colour space, crop back",
            "directions": list(generators),
            "files": files,
            **(metadata or {}),
        }
        (staging / METADATA).write_text(json.dumps(info, indent=2) + "\n")
        from translate.io_utils import publish_mode

        publish_mode(staging, directory=True)
        os.rename(staging, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _photo_function(generator, task, size_multiple: int):
    import tensorflow as tf

    from translate.export import TENSOR_SPEC, make_translate_tensor

    return tf.function(
        make_translate_tensor(generator, task, size_multiple), input_signature=[TENSOR_SPEC]
    )


def write_onnx(generator, task, size_multiple: int, path: Path) -> None:
    """The photo -> photo function as an ONNX file (opset 17), input named `images`."""
    import tf2onnx

    from translate.networks.cpu_kernels import portable_ops

    with portable_ops():
        fn = _photo_function(generator, task, size_multiple)
        try:
            tf2onnx.convert.from_function(
                fn, input_signature=fn.input_signature, opset=ONNX_OPSET, output_path=str(path)
            )
        except Exception as exc:  # noqa: BLE001 (tf2onnx raises many kinds)
            raise UserError(f"ONNX conversion failed: {_first_line(exc)}") from None


def write_tflite(generator, task, size_multiple: int, path: Path, quantize: str = "none") -> None:
    """The photo -> photo function as a .tflite file, through a SavedModel of it."""
    import keras
    import tensorflow as tf

    from translate.export import TENSOR_SPEC, make_translate_tensor
    from translate.networks.cpu_kernels import portable_ops

    with tempfile.TemporaryDirectory() as saved, portable_ops():
        archive = keras.export.ExportArchive()
        archive.track(generator)
        archive.add_endpoint(
            "serving_default", make_translate_tensor(generator, task, size_multiple),
            input_signature=[TENSOR_SPEC],
        )
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        try:
            blob = converter.convert()
        except Exception as exc:  # noqa: BLE001 (the converter's errors are long MLIR dumps)
            raise UserError(f"TFLite conversion failed: {_unsupported(exc)}") from None
    path.write_bytes(blob)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _unsupported(exc: Exception) -> str:
    """The ops the converter could not take, from its long message, or its first line."""
    import re

    ops = sorted(set(re.findall(r"'(tf\.[A-Za-z0-9]+)' op is neither", str(exc))))
    if ops:
        return f"ops not in TFLite's builtin set: {', '.join(ops)}"
    return _first_line(exc)


# ---------------------------------------------------------------------------------------------
# Reading one back (`translate apply EXPORT.onnx|EXPORT.tflite`).


def is_export_file(path: str | Path) -> bool:
    return Path(path).suffix in FILE_FORMATS.values() and Path(path).is_file()


def read_file_metadata(path: str | Path) -> dict:
    """metadata.json beside an exported .onnx/.tflite file, and the file's direction."""
    path = Path(path)
    meta_path = path.parent / METADATA
    if not meta_path.is_file():
        raise UserError(
            f"{path}: no {METADATA} beside it; export it with `translate export --format "
            f"{path.suffix[1:]}`, which writes the contract apply reads"
        )
    meta = json.loads(meta_path.read_text())
    by_file = {file: direction for direction, file in meta.get("files", {}).items()}
    if path.name not in by_file:
        raise UserError(f"{path}: not one of the files its {METADATA} lists ({', '.join(by_file)})")
    return {**meta, "direction": by_file[path.name]}


def file_runner(path: str | Path):
    """numpy float32 [N, H, W, 3] in [0, 1] -> numpy output, through the file's own runtime."""
    import numpy as np

    path = Path(path)
    if path.suffix == ".onnx":
        ort = require("onnxruntime", "onnx", f"running {path.name}")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name

        def run_onnx(batch):
            return session.run(None, {input_name: np.ascontiguousarray(batch, np.float32)})[0]

        return run_onnx
    litert = require("ai_edge_litert.interpreter", "tflite", f"running {path.name}")
    interpreter = litert.Interpreter(model_path=str(path))
    source = interpreter.get_input_details()[0]["index"]
    shapes: list = [None]

    def run_tflite(batch):
        batch = np.ascontiguousarray(batch, np.float32)
        if shapes[0] != batch.shape:
            interpreter.resize_tensor_input(source, batch.shape)
            interpreter.allocate_tensors()
            shapes[0] = batch.shape
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

    return run_tflite
