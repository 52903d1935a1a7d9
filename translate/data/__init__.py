"""Data: dataset cards and the cache, folder layouts, the tf.data pipeline, augmentation.

Importing this package is cheap (no TensorFlow); `make_dataset` imports it when called.
"""

from __future__ import annotations

from translate.data.cards import Card, builtin_cards, cache_dir, get_card
from translate.data.config import DataConfig
from translate.data.sources import DatasetSpec, count_examples, fetch, resolve_dataset


def make_dataset(
    spec, split, config, seed: int = 0, shuffle: bool = True, repeat: bool = False, skip: int = 0
):
    """tf.data batches of a split; see translate.data.pipeline.make_dataset."""
    from translate.data.pipeline import make_dataset as _make_dataset

    return _make_dataset(spec, split, config, seed=seed, shuffle=shuffle, repeat=repeat, skip=skip)


__all__ = [
    "Card",
    "DataConfig",
    "DatasetSpec",
    "builtin_cards",
    "cache_dir",
    "count_examples",
    "fetch",
    "get_card",
    "make_dataset",
    "resolve_dataset",
]
