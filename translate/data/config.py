"""The data section of a recipe: which dataset, its layout, and the reference preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field

DIRECTIONS = ("AtoB", "BtoA")  # A -> B, the way the data's pairs or domains are named, and back


@dataclass
class DataConfig:
    """Plain fields only: built from YAML dicts by translate.config.from_dict.

    `augment` is a list of albumentations transforms applied after the crop and flip, each a
    mapping with the transform's class name and its keyword arguments, e.g.
    `[{"name": "ColorJitter", "p": 0.5, "brightness": 0.2}, {"name": "GaussNoise"}]`.
    Paired data gets the identical transform on A and B.

    `crops_per_image` > 1 decodes each photo once for several patches (super-resolution trains
    on small crops of large photos, where decoding would otherwise bound the step); an epoch then
    holds that many examples per image.
    """

    dataset: str = ""  # a dataset card name (translate datasets list) or a folder
    layout: str = "auto"  # auto | unaligned | aligned | single
    direction: str = "AtoB"  # AtoB | BtoA: the first element of a pair is the model's input
    load_size: int = 286
    crop_size: int = 256
    preprocess: str = "resize_and_crop"  # resize_and_crop|crop|scale_width|scale_width_and_crop|none
    flip: bool = True
    rotate: bool = False  # random 90-degree turns too (square crops; super-resolution patches)
    crops_per_image: int = 1  # crop modes: this many random crops of each decoded image, in turn
    batch_size: int = 1
    augment: list = field(default_factory=list)
    serial_batches: bool = False  # unaligned: B in order with A instead of at random; no shuffle
    max_items: int = 0  # 0: every image; else at most this many per domain (the first, sorted)
    channels: int = 3
