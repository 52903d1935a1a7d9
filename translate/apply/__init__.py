"""Apply a trained generator to photos of any size, and to folders of them (`translate apply`).

Layers, each usable alone:
    Translator        numpy photo(s) in [0, 1] -> numpy photo(s) in [0, 1] (translator.py)
    load_translator   a Translator from a run directory or an exported SavedModel (sources.py)
    plan              inputs listed and outputs planned, never over an input (files.py)
    apply_folder      files -> files: decode / infer / encode in threads, a gallery (engine.py)
"""

from __future__ import annotations

from translate.apply.engine import apply_folder, remove_stale_temporaries
from translate.apply.files import ApplySummary, Job, list_inputs, plan
from translate.apply.images import Decoded, decode, finish
from translate.apply.sources import keeps_grayscale, load_translator
from translate.apply.translator import Translator

__all__ = [
    "ApplySummary",
    "Decoded",
    "Job",
    "Translator",
    "apply_folder",
    "decode",
    "finish",
    "keeps_grayscale",
    "list_inputs",
    "load_translator",
    "plan",
    "remove_stale_temporaries",
]
