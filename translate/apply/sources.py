"""Where a Translator comes from: a run directory or an exported SavedModel."""

from __future__ import annotations

import math
from pathlib import Path

from translate.apply.translator import Translator
from translate.data.config import DIRECTIONS
from translate.errors import UserError


def keeps_grayscale(task) -> bool:
    """Whether a gray input gives a gray output, as the task says: yes where it only sharpens or
    enlarges (superres), no where colour is the point (colorization) or the model's to choose."""
    return bool(getattr(task, "keeps_grayscale", False))


def load_translator(
    source,
    direction: str = "AtoB",
    epoch: int | None = None,
    tile: int | None = None,
    tile_overlap: int = 32,
    batch_size: int = 1,
) -> Translator:
    """A Translator from a run directory (latest or `epoch` checkpoint) or an export
    (OUTPUT_BASE/NAME/VERSION, or OUTPUT_BASE/NAME for its highest version)."""
    from translate.runs import is_run_dir

    if direction not in DIRECTIONS:
        raise UserError(f"--direction must be AtoB or BtoA (got {direction!r})")
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such run directory or export")
    options = {"tile": tile, "tile_overlap": tile_overlap, "batch_size": batch_size}
    if is_run_dir(source):
        return _from_run(source, direction, epoch, options)
    from translate.export_formats import is_export_file

    if is_export_file(source):
        return _from_file(source, epoch, options)
    return _from_export(source, direction, epoch, options)


def _from_file(path: Path, epoch: int | None, options: dict) -> Translator:
    """An exported .onnx or .tflite file, run by ONNX Runtime or LiteRT; its direction is the
    file's own (metadata.json beside it)."""
    import tensorflow as tf

    from translate.export_formats import file_runner, read_file_metadata
    from translate.tasks import ExportedTask

    meta = read_file_metadata(path)
    if epoch is not None:
        raise UserError(f"--epoch {epoch}: {path} holds one checkpoint; drop --epoch")
    run = file_runner(path)

    def forward(batch):
        out = tf.numpy_function(run, [batch], tf.float32, stateful=True)
        out.set_shape([None, None, None, 3])
        return out

    task = ExportedTask.named(meta.get("task"), meta.get("scale", 1))
    translator = Translator(forward, task, meta.get("size_multiple", 1), **options)
    origin = f", from run {meta['source_run']}" if meta.get("source_run") else ""
    translator.made_by = f"{meta['format']} file {path}{origin}, {meta['direction']}"
    return translator


def _from_run(path: Path, direction: str, epoch: int | None, options: dict) -> Translator:
    from translate.networks import generator_size_multiple
    from translate.runs import load_run

    run = load_run(path, epoch=epoch)
    generator = run.generator(direction)
    multiple = math.lcm(
        generator_size_multiple(run.config.model.netG), int(getattr(run.task, "size_multiple", 1))
    )

    def forward(batch):
        return generator(batch, training=False)

    translator = Translator(forward, run.task, multiple, **options)
    step = int(run.model.train_step_counter.numpy())
    checkpoint = f"epoch {epoch}" if epoch is not None else f"latest checkpoint, step {step}"
    translator.made_by = f"run {path} ({checkpoint}), {direction}"
    return translator


def _from_export(path: Path, direction: str, epoch: int | None, options: dict) -> Translator:
    import tensorflow as tf

    from translate.export import find_export, read_export_metadata

    version_dir = find_export(path)
    meta = read_export_metadata(version_dir)
    if epoch is not None:
        raise UserError(
            f"--epoch {epoch}: {version_dir} is an export, which holds one checkpoint; "
            "drop --epoch or apply the run directory instead"
        )
    directions = meta.get("directions", ["AtoB"])
    if direction not in directions:
        raise UserError(
            f"--direction {direction}: {version_dir} exports only {', '.join(directions)}"
        )
    loaded = tf.saved_model.load(str(version_dir))
    name = (
        meta.get("signatures", {}).get(direction, {}).get("tensor", f"translate_tensor_{direction}")
    )
    if name not in loaded.signatures:
        raise UserError(
            f"{version_dir} has no signature {name}; re-export it with `translate export`"
        )
    signature = loaded.signatures[name]

    def forward(batch):
        return signature(images=batch)["images"]

    from translate.tasks import ExportedTask

    task = ExportedTask.named(meta.get("task"), meta.get("scale", 1))
    translator = Translator(forward, task, meta.get("size_multiple", 1), **options)
    translator.saved_model = loaded  # keeps the variables alive as long as the translator
    origin = f", from run {meta['source_run']}" if meta.get("source_run") else ""
    if meta.get("epoch") is not None:
        origin += f" epoch {meta['epoch']}"
    translator.made_by = f"export {version_dir}{origin}, {direction}"
    return translator
