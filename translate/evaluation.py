"""`translate evaluate`: a trained model's numbers on held-out images, next to the trivial baseline.

The task decides the protocol (Task.evaluation_protocol, baseline_output), as each literature
reports it; this module holds the readers of the test-set layouts and the loop:
- superres: PSNR / SSIM on the Y channel with `scale` pixels shaved, against bicubic upscaling
  of the same LR image (the given `image_SRF_k/*_LR.png` files when DATA has them, else
  `task.degrade(HR)`).
- colorization: PSNR / SSIM in RGB and colourfulness, against the gray photo (the input's L).
- translation: PSNR / SSIM against the paired targets, and FID / KID against the target domain
  when InceptionV3 weights are at hand (required for unpaired data), against the identity.
Numbers are means over images (the papers' average), images read as 8-bit RGB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from translate.data import imageio
from translate.data.config import DIRECTIONS
from translate.errors import UserError
from translate.metrics import (
    fid,
    image_measures,
    inception_features,
    kid,
    resolve_inception_weights,
)

IMAGE_SUFFIXES = imageio.IMAGE_SUFFIXES  # the same files apply reads


@dataclass(frozen=True)
class Item:
    """One evaluation image: its name and how to read (model input, reference or None)."""

    name: str
    load: Callable[[], tuple[np.ndarray, np.ndarray | None]]


def read_image(path: Path) -> np.ndarray:
    """An image file as uint8 HxWx3 RGB, upright (gray repeated, alpha dropped, 16 bits cut)."""
    image = imageio.read_image(path, channels=3)
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    return image


def image_files(folder: Path) -> list[Path]:
    """The image files directly in a folder, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def to_uint8(image01) -> np.ndarray:
    """A [0, 1] float photo as uint8, rounded as image writers round."""
    return np.clip(np.round(np.asarray(image01, np.float64) * 255.0), 0, 255).astype(np.uint8)


def _existing_images(folder: Path, what: str) -> list[Path]:
    files = image_files(folder) if folder.is_dir() else []
    if not files:
        raise UserError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) for {what}")
    return files


# ------------------------------------------------------------------------------ the data per task


def superres_items(data: Path, task) -> list[Item]:
    """LR/HR pairs: `image_SRF_k/img_*_SRF_k_{LR,HR}.png` (Set5/Set14), else HR photos degraded.

    HR photos are cropped to a multiple of the scale first (MATLAB's `modcrop`), so the output
    and the reference have the same size.
    """
    scale = int(task.scale)
    pattern = f"*_SRF_{scale}_HR.png"
    folder = data / f"image_SRF_{scale}" if (data / f"image_SRF_{scale}").is_dir() else data
    hr_files = sorted(folder.glob(pattern))
    if hr_files:
        def given(hr: Path):
            return lambda: (read_image(Path(str(hr)[: -len("HR.png")] + "LR.png")), read_image(hr))

        missing = [f for f in hr_files if not Path(str(f)[: -len("HR.png")] + "LR.png").is_file()]
        if missing:
            raise UserError(f"{missing[0]}: no matching _LR.png file next to it")
        return [Item(f.name.replace("_HR.png", ""), given(f)) for f in hr_files]

    hr_folder = data / "HR" if (data / "HR").is_dir() else data
    degrade = task.degrade

    def degraded(index: int, hr_path: Path):
        def load():
            hr = read_image(hr_path)
            height, width = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
            if min(height, width) == 0:
                raise UserError(f"{hr_path}: smaller than the scale x{scale}")
            hr = hr[:height, :width]
            # a seed per image: a random (realistic) degradation is the same on every run
            lr = to_uint8(degrade(hr.astype(np.float32) / 255.0, seed=(index, 0)))
            return lr, hr

        return load

    files = _existing_images(hr_folder, f"x{scale} super-resolution (HR photos)")
    return [Item(f.stem, degraded(i, f)) for i, f in enumerate(files)]


def colorization_items(data: Path) -> list[Item]:
    """Every photo of the folder is its own reference; the model sees only its lightness."""
    files = _existing_images(data, "colorization (colour photos)")
    return [Item(f.stem, lambda f=f: (image := read_image(f), image)) for f in files]


def _aligned_halves(path: Path, direction: str):
    image = read_image(path)
    if image.shape[1] % 2:
        raise UserError(f"{path}: an aligned pair must be two halves side by side (even width)")
    half = image.shape[1] // 2
    a, b = image[:, :half], image[:, half:]
    return (a, b) if direction == "AtoB" else (b, a)


def translation_items(data: Path, split: str, direction: str) -> tuple[list[Item], list[Path]]:
    """Items, and for unpaired data the target-domain files (FID/KID's reference set).

    Layouts: `<split>/` of aligned A|B images (pix2pix), or `<split>A/` + `<split>B/` folders,
    paired when every input's file name is also in the target folder (CycleGAN's layout).
    """
    aligned = data / split
    if aligned.is_dir():
        files = _existing_images(aligned, f"--split {split} (aligned A|B pairs)")
        return [Item(f.stem, lambda f=f: _aligned_halves(f, direction)) for f in files], []
    folder_a, folder_b = data / f"{split}A", data / f"{split}B"
    if not (folder_a.is_dir() and folder_b.is_dir()):
        raise UserError(
            f"{data}: no {split}/ (aligned pairs) nor {split}A/ + {split}B/ folders; "
            "give the dataset folder and its split with --split"
        )
    sources = _existing_images(folder_a, f"--split {split}")
    targets = _existing_images(folder_b, f"--split {split}")
    if direction == "BtoA":
        sources, targets = targets, sources
    by_name = {f.name: f for f in targets}
    if all(f.name in by_name for f in sources):
        def pair(f: Path):
            return lambda: (read_image(f), read_image(by_name[f.name]))

        return [Item(f.stem, pair(f)) for f in sources], []
    return [Item(f.stem, lambda f=f: (read_image(f), None)) for f in sources], targets


# ------------------------------------------------------------------------------ the loop


def _means(rows: list[dict]) -> dict[str, float]:
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}


def _distribution(outputs: list, inputs: list, targets, weights) -> dict[str, dict]:
    """FID and KID of the outputs, and of the inputs (identity), against the target images."""
    if min(len(outputs), len(targets)) < 2:
        raise UserError("FID/KID need at least 2 images on each side; raise --max-images")
    target_features = inception_features(targets, weights)
    scores = {}
    for side, images in (("model", outputs), ("baseline", inputs)):
        features = inception_features(images, weights)
        score = kid(features, target_features)
        scores[side] = {"fid": fid(features, target_features), "kid": score.mean,
                        "kid_std": score.std}
    return {name: {side: scores[side][name] for side in scores} for name in scores["model"]}


@dataclass
class Protocol:
    """What a task is scored on and how (each Task's evaluation_protocol makes its own)."""

    items: list[Item]
    kind: str  # "sr" (Y channel) or "rgb": see translate.metrics.image_measures
    shave: int
    description: str
    unpaired_targets: list[Path]  # translation without pairs: FID/KID's target domain
    distribution: bool = False  # FID/KID too, when InceptionV3 weights are at hand


def evaluate(
    translator,
    data: str | Path,
    *,
    split: str = "test",
    direction: str = "AtoB",
    inception_weights: str | Path | None = None,
    max_images: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run `translator` (a `translate.apply.Translator`) over DATA and score it.

    Returns {"task", "scale", "baseline", "images", "protocol", "metrics": {name: {"model",
    "baseline"}}, "per_image": [...], "notes": [...]}; `json_ready` makes it strict JSON.
    """
    data = Path(data)
    if not data.is_dir():
        raise UserError(f"DATA {data}: no such folder")
    if direction not in DIRECTIONS:
        raise UserError(f"--direction must be AtoB or BtoA (got {direction!r})")
    task = translator.task
    protocol = task.evaluation_protocol(data, split, direction)
    items, kind, shave = protocol.items, protocol.kind, protocol.shave
    unpaired_targets = protocol.unpaired_targets
    notes: list[str] = list(task.evaluation_notes(data))
    if max_images is not None:
        if max_images < 1:
            raise UserError(f"--max-images must be at least 1 (got {max_images})")
        items = items[:max_images]

    weights = None
    if protocol.distribution:
        try:
            weights = resolve_inception_weights(inception_weights)
        except UserError:
            if unpaired_targets or inception_weights is not None:
                raise  # unpaired data has no other measure; a given path must work
            notes.append("FID/KID left out: no InceptionV3 weights (see --inception-weights)")

    per_image, outputs, inputs, references = [], [], [], []
    for done, item in enumerate(items, start=1):
        source, reference = item.load()
        output = to_uint8(translator(source.astype(np.float32) / 255.0))
        if reference is not None:
            baseline = task.baseline_output(source)
            try:
                per_image.append({
                    "name": item.name,
                    "model": image_measures(kind, output, reference, shave),
                    "baseline": image_measures(kind, baseline, reference, shave),
                })
            except ValueError as error:
                raise UserError(f"{item.name}: {error}") from error
        if weights is not None:
            outputs.append(output)
            inputs.append(source)
            references.append(reference)
        if progress is not None:
            progress(done, len(items))

    metrics = {}
    if per_image:
        model, baseline = (_means([row[side] for row in per_image]) for side in ("model", "baseline"))
        metrics = {name: {"model": model[name], "baseline": baseline[name]} for name in model}
    if weights is not None:
        targets = [read_image(f) for f in unpaired_targets[:max_images]] or references
        metrics.update(_distribution(outputs, inputs, targets, weights))
    return {
        "task": task.name,
        "scale": int(getattr(task, "scale", 1)),
        "baseline": task.baseline,
        "images": len(items),
        "protocol": protocol.description,
        "metrics": metrics,
        "per_image": per_image,
        "notes": notes,
    }


def json_ready(value):
    """inf / nan (PSNR of identical images) as strings, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
