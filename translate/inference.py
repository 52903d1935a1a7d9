"""Apply a trained generator to photos of any size, and to folders of them (`translate apply`).

Three layers, each usable alone:
    Translator        numpy photo(s) in [0, 1] -> numpy photo(s) in [0, 1]: the task's pre/post
                      processing, reflect padding to the size multiple, whole image or tiles.
    load_translator   a Translator from a run directory or an exported SavedModel.
    apply_folder      files -> files: listing, safety checks, decode / infer / encode overlapped
                      in threads, equal-size batching, skip-existing, atomic writes, a gallery.

Tiling blends overlapping tiles in the model's output space with linear ramps, so a tiled run
matches a whole-image run away from the borders for models whose output depends on a bounded
neighbourhood. Instance-norm generators normalise each tile with its own statistics, so their
tiles can differ more than batch-norm or norm-free ones: prefer whole images (no --tile) there.
"""

from __future__ import annotations

import html
import math
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

from translate.data.config import DIRECTIONS
from translate.data.imageio import IMAGE_SUFFIXES
from translate.data.imageio import OUTPUT_FORMATS as FORMATS
from translate.errors import UserError

COMPARE_DIR = "_compare"  # side-by-side images for --compare, next to index.html
GALLERY_FILE = "index.html"
MARKER_FILE = ".translate-apply"  # marks a folder as apply's output (hidden, never read as input)
DEFAULT_FALLBACK_TILE = 512  # tile size when a whole image does not fit in memory
GLOB_CHARS = "*?["


# ---------------------------------------------------------------------------------------------
# Photos in [0, 1] -> photos in [0, 1].


def reflect_indices(size: int, before: int, after: int) -> np.ndarray:
    """Source index of every padded position under repeated reflection (numpy's 'reflect').

    The numpy twin of translate.export's graph version; works for pads longer than the image.
    """
    positions = np.arange(-before, size + after)
    period = max(2 * (size - 1), 1)
    folded = np.mod(positions, period)
    return np.where(folded >= size, period - folded, folded)


def pad_amounts(size: int, multiple: int) -> tuple[int, int]:
    """(before, after): centred padding of `size` up to a multiple of `multiple`."""
    padded = -(-size // multiple) * multiple
    before = (padded - size) // 2
    return before, padded - size - before


def tile_starts(size: int, tile: int, step: int) -> list[int]:
    """Tile origins covering [0, size): every `step`, the last one flush with the end."""
    if size <= tile:
        return [0]
    return list(range(0, size - tile, step)) + [size - tile]


def ramp_weights(starts: list[int], tile: int, size: int, scale: int) -> list[np.ndarray]:
    """Per tile, a 1-D blending weight at output resolution: linear ramps across each overlap.

    Ramps run only where a neighbour overlaps (image borders keep weight 1); in an overlap of
    length L the two ramps sum to 1, and the caller divides by the total weight anyway.
    """
    weights = []
    for i, start in enumerate(starts):
        t = min(tile, size) * scale
        w = np.ones(t, np.float32)
        pos = np.arange(t, dtype=np.float32) + 0.5
        before = (starts[i - 1] + tile - start) * scale if i > 0 else 0
        after = (start + tile - starts[i + 1]) * scale if i < len(starts) - 1 else 0
        if before > 0:
            w = np.minimum(w, pos / before)
        if after > 0:
            w = np.minimum(w, (t - pos) / after)
        weights.append(w)
    return weights


def to_rgb01(image: np.ndarray) -> np.ndarray:
    """Any decoded image (HxW, HxWx1..4, uint8/uint16/float) -> float32 HxWx3 RGB in [0, 1]."""
    if image.ndim == 2:
        image = image[..., None]
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    else:
        image = image.astype(np.float32, copy=False)
    channels = image.shape[-1]
    if channels in (1, 2):  # gray, gray + alpha
        return np.repeat(image[..., :1], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


class Translator:
    """A generator and its task as a photo -> photo function on numpy arrays.

    forward: model-space float32 NHWC batch -> model-space batch (a Keras generator called with
    training=False, or a SavedModel function). Images are reflect-padded (centred) to the size
    multiple and cropped back; with `tile`, images larger than it go through overlapping tiles
    of that size (rounded up to the size multiple), `tile_overlap` pixels apart at least.
    """

    def __init__(
        self,
        forward,
        task,
        size_multiple: int,
        tile: int | None = None,
        tile_overlap: int = 32,
        batch_size: int = 1,
    ):
        import tensorflow as tf

        self.task = task
        self.scale = int(getattr(task, "scale", 1))
        self.size_multiple = max(1, int(size_multiple))
        self.batch_size = max(1, int(batch_size))
        self.tile_overlap = int(tile_overlap)
        if self.tile_overlap < 0:
            raise UserError(f"--tile-overlap {tile_overlap}: must be 0 or more pixels")
        self.tile = None if tile is None else self._round_tile(int(tile))
        self.fallbacks = 0  # batches that ran out of memory whole and went through tiles
        self._forward = forward
        self._model = tf.function(self._run_model, reduce_retracing=True)
        photos = tf.TensorSpec([None, None, None, 3], tf.float32)
        self._whole = tf.function(self._translate_whole, input_signature=[photos])

    def _round_tile(self, tile: int) -> int:
        m = self.size_multiple
        if tile < 1:
            raise UserError(f"--tile {tile}: give a tile size in pixels, e.g. --tile 512")
        tile = -(-tile // m) * m
        if tile - self.tile_overlap < m:
            raise UserError(
                f"--tile {tile} with --tile-overlap {self.tile_overlap}: tiles must advance by at "
                f"least the generator's size multiple {m}; use a larger --tile or smaller overlap"
            )
        return tile

    @property
    def tile_step(self) -> int:
        """Distance between tile origins: a multiple of the size multiple, so tiles see the
        network's downsampling grid exactly as the whole image does."""
        m = self.size_multiple
        return max(m, (self.tile - self.tile_overlap) // m * m)

    def _run_model(self, batch):
        return self._forward(batch)

    def _translate_whole(self, images):
        import tensorflow as tf

        from translate.export import reflect_pad_to_multiple

        s = self.scale
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        padded, top, left = reflect_pad_to_multiple(images, self.size_multiple)
        output = self._run_model(self.task.to_model(padded))
        output = output[:, s * top : s * (top + height), s * left : s * (left + width)]
        return self.task.from_model(output, images)

    def __call__(self, image01: np.ndarray) -> np.ndarray:
        """One HxWxC photo in [0, 1] -> HxWx3 (x task.scale) photo in [0, 1]."""
        return self.translate_batch(np.asarray(image01)[None])[0]

    def translate_batch(self, images01: np.ndarray) -> np.ndarray:
        """NxHxWxC photos of one size in [0, 1] -> Nx(H*scale)x(W*scale)x3 photos in [0, 1]."""
        images = np.asarray(images01)
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[-1] == 3 and images.dtype.kind == "f":
            photos = images.astype(np.float32, copy=False)
        else:  # gray, alpha, or 8/16-bit integers
            photos = np.stack([to_rgb01(image) for image in images])
        height, width = photos.shape[1:3]
        m = self.size_multiple
        padded_h, padded_w = -(-height // m) * m, -(-width // m) * m
        if self.tile is not None and max(padded_h, padded_w) > self.tile:
            return np.stack([self._translate_tiled(photo, self.tile) for photo in photos])
        outputs = []
        for i in range(0, len(photos), self.batch_size):
            chunk = photos[i : i + self.batch_size]
            try:
                outputs.append(self._whole(chunk).numpy())
            except Exception as exc:  # out of memory: the same image in tiles
                if type(exc).__name__ != "ResourceExhaustedError":
                    raise
                self.fallbacks += 1
                tile = self._round_tile(max(DEFAULT_FALLBACK_TILE, 2 * self.size_multiple))
                outputs.append(np.stack([self._translate_tiled(p, tile) for p in chunk]))
        return np.concatenate(outputs)

    def _translate_tiled(self, photo: np.ndarray, tile: int) -> np.ndarray:
        """One HxWx3 photo through overlapping tiles, blended in the model's output space."""
        import tensorflow as tf

        s, m = self.scale, self.size_multiple
        height, width = photo.shape[:2]
        top, bottom = pad_amounts(height, m)
        left, right = pad_amounts(width, m)
        padded = photo[reflect_indices(height, top, bottom)][:, reflect_indices(width, left, right)]
        model_input = np.asarray(self.task.to_model(tf.constant(padded[None])))[0]
        padded_h, padded_w = padded.shape[:2]
        step = max(m, (tile - self.tile_overlap) // m * m)
        ys, xs = tile_starts(padded_h, tile, step), tile_starts(padded_w, tile, step)
        wy = ramp_weights(ys, tile, padded_h, s)
        wx = ramp_weights(xs, tile, padded_w, s)
        th, tw = min(tile, padded_h), min(tile, padded_w)
        total = weight_sum = None
        boxes = [(i, j) for i in range(len(ys)) for j in range(len(xs))]
        for k in range(0, len(boxes), self.batch_size):
            chunk = boxes[k : k + self.batch_size]
            tiles = np.stack(
                [model_input[ys[i] : ys[i] + th, xs[j] : xs[j] + tw] for i, j in chunk]
            )
            outs = np.asarray(self._model(tf.constant(tiles)))
            if total is None:
                total = np.zeros((padded_h * s, padded_w * s, outs.shape[-1]), np.float32)
                weight_sum = np.zeros((padded_h * s, padded_w * s, 1), np.float32)
            for (i, j), out in zip(chunk, outs, strict=True):
                w = (wy[i][:, None] * wx[j][None, :])[..., None]
                y0, x0 = ys[i] * s, xs[j] * s
                total[y0 : y0 + th * s, x0 : x0 + tw * s] += out * w
                weight_sum[y0 : y0 + th * s, x0 : x0 + tw * s] += w
        blended = (total / weight_sum)[s * top : s * (top + height), s * left : s * (left + width)]
        return np.asarray(
            self.task.from_model(tf.constant(blended[None]), tf.constant(photo[None]))
        )[0]


# ---------------------------------------------------------------------------------------------
# Sources: a run directory or an exported SavedModel.


class PhotoSpaceTask:
    """The task of an export: its graph already holds the task's processing, photos in and out;
    what the task says of itself (grayscale, baseline) comes from the task of that name."""

    input_channels = 3
    output_channels = 3

    def __init__(self, name: str = "translation", scale: int = 1):
        from translate.tasks import TASK_CLASSES

        self.name = name
        self.scale = int(scale)
        own = TASK_CLASSES.get(name)
        self.keeps_grayscale = bool(getattr(own, "keeps_grayscale", False))
        self.baseline = getattr(own, "baseline", "identity")

    def to_model(self, image01):
        import tensorflow as tf

        return tf.cast(image01, tf.float32)

    def from_model(self, output, image01=None):
        import tensorflow as tf

        return tf.clip_by_value(tf.cast(output, tf.float32), 0.0, 1.0)


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
    return _from_export(source, direction, epoch, options)


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

    return Translator(forward, run.task, multiple, **options)


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

    task = PhotoSpaceTask(meta.get("task", "translation"), meta.get("scale", 1))
    translator = Translator(forward, task, meta.get("size_multiple", 1), **options)
    translator.saved_model = loaded  # keeps the variables alive as long as the translator
    return translator


# ---------------------------------------------------------------------------------------------
# Files: what to read, where to write, and never over an input.


@dataclass
class Job:
    source: Path
    relative: Path  # of the source, under the input root
    target: Path
    compare: Path | None = None


@dataclass
class ApplySummary:
    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    output: Path | None = None
    seconds: float = 0.0
    gallery: Path | None = None

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _through_link(path: Path, root: Path) -> bool:
    """Whether a folder between `root` and `path` is a symbolic link."""
    folder = path.parent
    while folder != root and folder != folder.parent:
        if folder.is_symlink():
            return True
        folder = folder.parent
    return False


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def list_inputs(
    input_arg: str | Path, recursive: bool = False, exclude: Path | None = None
) -> tuple[Path, list[Path]]:
    """(root, files): a file, a folder's images (subfolders with `recursive`), or a glob's.

    Files under `exclude` (the output folder, when it sits inside the input) are left out, and
    so are hidden files (half-written temporaries among them).
    """
    text = str(input_arg)
    path = Path(text)
    exclude = exclude.resolve() if exclude is not None else None
    if path.is_file():
        return path.parent, [path]
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        files = [p for p in path.glob(pattern) if p.is_file() and _is_image_name(p)]
        root = path
        what = f"folder {path}" + ("" if recursive else " (add --recursive for subfolders)")
    elif any(c in text for c in GLOB_CHARS):
        parts = Path(text).parts  # the root is the folder before the first wildcard
        cut = next(i for i, part in enumerate(parts) if any(c in part for c in GLOB_CHARS))
        root = Path(*parts[:cut]) if cut else Path(".")
        pattern = str(Path(*parts[cut:]))
        # Matched below the root without entering linked folders, as a folder with --recursive:
        # a `loop -> ..` link must not multiply (or endlessly nest) the inputs.
        files = [
            p for p in (root.glob(pattern) if root.is_dir() else [])
            if p.is_file() and not p.name.startswith(".") and not _through_link(p, root)
        ]
        what = f"pattern {text!r}"
    else:
        raise UserError(f"INPUT {text}: no such file, folder or matching glob")
    if exclude is not None and exclude != root.resolve() and _inside(exclude, root.resolve()):
        files = [p for p in files if not _inside(p.resolve(), exclude)]
    if not files:
        raise UserError(
            f"no images in {what}; looked for {', '.join(s[1:] for s in IMAGE_SUFFIXES)} files"
        )
    return root, sorted(files)


def plan_jobs(
    root: Path, files: list[Path], output: Path, fmt: str, compare: bool = False
) -> list[Job]:
    """Output paths mirroring the input tree, with the chosen format's extension.

    When two inputs would share an output name (a.jpg and a.png -> a.png), each of them keeps
    its own extension in the name (a.jpg.png, a.png.png), so no result overwrites another.
    """
    relatives = [f.relative_to(root) if f.is_relative_to(root) else Path(f.name) for f in files]
    plain = [rel.with_suffix(f".{fmt}") for rel in relatives]
    counts: dict[Path, int] = {}
    for rel in plain:
        counts[rel] = counts.get(rel, 0) + 1
    jobs = []
    for source, rel, out in zip(files, relatives, plain, strict=True):
        if counts[out] > 1:
            out = rel.with_name(f"{rel.name}.{fmt}")
        compare_path = output / COMPARE_DIR / rel.with_name(f"{rel.name}.jpg") if compare else None
        jobs.append(Job(source, rel, output / out, compare_path))
    return jobs


def check_safe(
    input_root: Path, files: list[Path], output: Path, jobs: list[Job], recursive: bool = False
) -> None:
    """Refuse any plan that writes over an input or among the inputs."""
    output_r = output.resolve()
    root_r = input_root.resolve()
    if output_r == root_r:
        raise UserError(
            f"OUTPUT {output} is the input folder; results would mix with (and could overwrite) "
            f"the inputs: choose another folder, e.g. {output.name or 'output'}-translated"
        )
    if output.exists() and not output.is_dir():
        raise UserError(f"OUTPUT {output} exists and is not a folder; give a folder to write into")
    if (
        recursive
        and _inside(output_r, root_r)
        and output.is_dir()
        and not (output / MARKER_FILE).exists()
        and any(p.is_file() and _is_image_name(p) for p in output.rglob("*"))
    ):
        raise UserError(
            f"OUTPUT {output} is inside the input folder and already holds images that "
            "--recursive would read; choose an output folder outside the input"
        )
    inputs = {f.resolve() for f in files}
    for job in jobs:
        target = job.target.resolve()
        if target in inputs:
            raise UserError(
                f"OUTPUT {output}: writing {job.target} would overwrite the input {job.source}; "
                "choose an output folder outside the input"
            )
        if _inside(target, root_r) and not _inside(output_r, root_r):
            raise UserError(
                f"OUTPUT {output}: {job.target} would land among the inputs in {input_root}; "
                "choose an output folder that does not contain the input"
            )


def plan(
    inputs: str | Path,
    output: str | Path,
    recursive: bool = False,
    fmt: str = "png",
    compare: bool = False,
) -> list[Job]:
    """Every (input, output) pair of a run, checked for safety; cheap, so the CLI calls it
    before loading a model. A fresh folder inside the input is fine (it is never read back)."""
    fmt = normalise_format(fmt)
    output = Path(output)
    if Path(inputs).is_dir() and Path(inputs).resolve() == output.resolve():
        raise UserError(
            f"OUTPUT {output} is the input folder; results would mix with (and could overwrite) "
            f"the inputs: choose another folder, e.g. {output.name or 'output'}-translated"
        )
    root, files = list_inputs(inputs, recursive=recursive, exclude=output)
    jobs = plan_jobs(root, files, output, fmt, compare=compare)
    check_safe(root, files, output, jobs, recursive=recursive)
    return jobs


def normalise_format(fmt: str) -> str:
    fmt = fmt.lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    return fmt


# ---------------------------------------------------------------------------------------------
# Reading and writing images.


def _imageio():
    """translate.data.imageio's readers and atomic writers."""
    from translate.data import imageio

    return imageio


@dataclass
class Decoded:
    """What one input becomes before inference: the photo, and what the output must carry."""

    photo: np.ndarray  # HxWx3 float32 in [0, 1]
    alpha: np.ndarray | None  # HxW, in the input's dtype
    gray: bool
    dtype: np.dtype


def decode(path: Path) -> Decoded:
    image = _imageio().read_image(path, channels=None)
    if image.ndim == 2:
        image = image[..., None]
    channels = image.shape[-1]
    alpha = image[..., -1] if channels in (2, 4) else None
    return Decoded(to_rgb01(image), alpha, channels in (1, 2), image.dtype)


def finish(decoded: Decoded, output01: np.ndarray, fmt: str, keep_gray: bool) -> np.ndarray:
    """The translated photo as the array to write: gray kept gray when the task allows, the
    input's alpha carried over (resized with the output), 16 bits kept where the format can."""
    import cv2

    image = output01
    if decoded.gray and keep_gray:
        image = image @ np.array([0.299, 0.587, 0.114], np.float32)
        image = image[..., None]
    sixteen = decoded.dtype == np.uint16 and fmt == "png"
    top = 65535.0 if sixteen else 255.0
    image = np.clip(np.rint(image * top), 0, top).astype(np.uint16 if sixteen else np.uint8)
    if decoded.alpha is not None and fmt != "jpg":
        alpha = decoded.alpha
        if alpha.shape != image.shape[:2]:
            alpha = cv2.resize(alpha, image.shape[1::-1], interpolation=cv2.INTER_CUBIC)
        if alpha.dtype != image.dtype:
            src_top = 65535.0 if alpha.dtype == np.uint16 else 255.0
            alpha = np.rint(alpha.astype(np.float32) * (top / src_top)).astype(image.dtype)
        image = np.concatenate([image, alpha[..., None]], axis=-1)
    return image[..., 0] if image.shape[-1] == 1 else image


def side_by_side(photo01: np.ndarray, output01: np.ndarray, longest: int = 2048) -> np.ndarray:
    """input | output as one uint8 RGB image, the input enlarged to the output's size."""
    import cv2

    height, width = output01.shape[:2]
    if photo01.shape[:2] != (height, width):
        photo01 = cv2.resize(photo01, (width, height), interpolation=cv2.INTER_CUBIC)
    pair = np.concatenate([photo01, output01], axis=1)
    shrink = longest / max(pair.shape[:2])
    if shrink < 1:
        size = (max(1, round(pair.shape[1] * shrink)), max(1, round(pair.shape[0] * shrink)))
        pair = cv2.resize(pair, size, interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(pair * 255.0), 0, 255).astype(np.uint8)


def write_gallery(output: Path, jobs: list[Job]) -> Path:
    """index.html: every side-by-side image that exists, captioned with its input's path."""
    from translate.io_utils import atomic_write_text

    figures = []
    for job in jobs:
        if job.compare is None or not job.compare.is_file():
            continue
        href = quote(job.compare.relative_to(output).as_posix())
        caption = html.escape(job.relative.as_posix())
        figures.append(
            f'<figure><a href="{href}"><img loading="lazy" src="{href}" alt="{caption}"></a>'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>translate apply</title>\n"
        "<style>body{font-family:sans-serif;margin:1em;background:#fafafa}"
        "figure{display:inline-block;margin:.5em;vertical-align:top}"
        "img{max-width:46vw;max-height:60vh;border:1px solid #ccc}"
        "figcaption{font-size:.85em;color:#444}</style></head><body>\n"
        f"<h1>{len(figures)} images: input | output</h1>\n"
        + "\n".join(figures)
        + "\n</body></html>\n"
    )
    path = output / GALLERY_FILE
    atomic_write_text(path, page)
    return path


# ---------------------------------------------------------------------------------------------
# The engine: decode (threads) -> batches of equal size -> inference -> encode (threads).


def _progress(total: int, enabled: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text("-- img/s" if speed is None else f"{speed:.2f} img/s")

    return Progress(
        TextColumn("apply"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )


def remove_stale_temporaries(output: Path, age_s: float = 60.0) -> list[Path]:
    """Hidden `.NAME.XXXX.tmp` files that an earlier, killed apply left in its output tree.

    Ours only (atomic_write_bytes' names) and older than a minute, so a write in flight, which
    lasts milliseconds, is never touched."""
    import re
    import time

    ours = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")
    now, removed = time.time(), []
    for path in output.rglob(".*.tmp"):
        try:
            if ours.fullmatch(path.name) and path.is_file() and now - path.stat().st_mtime > age_s:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def apply_folder(
    translator: Translator,
    inputs: str | Path,
    output: str | Path,
    *,
    recursive: bool = False,
    fmt: str = "png",
    quality: int | None = None,
    overwrite: bool = False,
    compare: bool = False,
    workers: int | None = None,
    progress: bool = True,
) -> ApplySummary:
    """Translate every image of INPUT into OUTPUT; returns what was done, skipped and failed.

    Outputs that exist are skipped unless `overwrite` (an interrupted run resumes); an input
    that cannot be read or translated is reported in the summary and the run goes on.
    """
    fmt = normalise_format(fmt)
    if quality is not None and not 1 <= quality <= 100:
        raise UserError(f"--quality {quality}: give 1..100 (for jpg and webp)")
    output = Path(output)
    jobs = plan(inputs, output, recursive=recursive, fmt=fmt, compare=compare)
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER_FILE).touch()
    remove_stale_temporaries(output)
    todo = [job for job in jobs if overwrite or not job.target.exists()]
    summary = ApplySummary(skipped=len(jobs) - len(todo), output=output)
    workers = workers or min(4, os.cpu_count() or 1)
    keep_gray = keeps_grayscale(translator.task)
    start = time.perf_counter()
    with _progress(len(todo), progress) as bar:
        bar_task = bar.add_task("apply", total=len(todo))
        _run_pipeline(translator, todo, summary, fmt, quality, keep_gray, workers, bar, bar_task)
    summary.seconds = time.perf_counter() - start
    if compare:
        summary.gallery = write_gallery(output, jobs)
    return summary


def _run_pipeline(translator, todo, summary, fmt, quality, keep_gray, workers, bar, bar_task):
    lock = threading.Lock()

    def record(job: Job, error: BaseException | None) -> None:
        with lock:
            if error is None:
                summary.done += 1
            else:
                message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                summary.failed.append((job.source, message or type(error).__name__))
        bar.advance(bar_task)

    def encode(job: Job, decoded: Decoded, output01: np.ndarray) -> None:
        io = _imageio()
        options = {} if quality is None else {"quality": quality}
        io.write_image_atomic(job.target, finish(decoded, output01, fmt, keep_gray), **options)
        if job.compare is not None:
            io.write_image_atomic(job.compare, side_by_side(decoded.photo, output01), quality=90)

    def encoded(job: Job, future: Future) -> None:
        record(job, future.exception())

    batch_size = translator.batch_size
    prefetch = 2 * workers + batch_size
    max_buffered = 2 * batch_size + workers
    with (
        ThreadPoolExecutor(workers, "decode") as readers,
        ThreadPoolExecutor(workers, "encode") as writers,
    ):
        pending_reads: deque = deque()
        pending_writes: deque = deque()
        upcoming = iter(todo)

        def refill():
            while len(pending_reads) < prefetch:
                job = next(upcoming, None)
                if job is None:
                    return
                pending_reads.append((job, readers.submit(decode, job.source)))

        def infer(batch: list[tuple[Job, Decoded]]) -> None:
            try:
                outputs = translator.translate_batch(np.stack([d.photo for _, d in batch]))
            except Exception as exc:  # noqa: BLE001 (one bad batch must not stop the run)
                for job, _ in batch:
                    record(job, exc)
                return
            for (job, decoded), out in zip(batch, outputs, strict=True):
                future = writers.submit(encode, job, decoded, out)
                future.add_done_callback(lambda f, job=job: encoded(job, f))
                pending_writes.append(future)
            while len(pending_writes) > prefetch:  # bounded memory: wait for the oldest write
                pending_writes.popleft().exception()

        buckets: dict[tuple, list] = {}
        refill()
        while pending_reads:
            job, future = pending_reads.popleft()
            refill()
            try:
                decoded = future.result()
            except Exception as exc:  # noqa: BLE001
                record(job, exc)
                continue
            key = decoded.photo.shape
            buckets.setdefault(key, []).append((job, decoded))
            if len(buckets[key]) >= batch_size:
                infer(buckets.pop(key))
            elif sum(map(len, buckets.values())) > max_buffered:
                infer(buckets.pop(max(buckets, key=lambda k: len(buckets[k]))))
        for key in list(buckets):
            infer(buckets.pop(key))
        for future in pending_writes:
            future.exception()  # wait; errors were recorded by the callback
