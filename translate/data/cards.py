"""Dataset cards: one YAML file per dataset (translate/dataset_cards), and the cache they fill."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from translate.errors import UserError

CARD_PACKAGE = "translate.dataset_cards"
CARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a plain name: it becomes a cache folder
SHA256 = re.compile(r"[0-9a-f]{64}")


def cache_dir() -> Path:
    """Where datasets live: $TRANSLATE_HOME, else ~/.cache/translate."""
    home = os.environ.get("TRANSLATE_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "translate"


@dataclass(frozen=True)
class Card:
    """What is known about a dataset: where to get it and how it is laid out."""

    name: str
    description: str = ""
    source: str = ""
    task: str = ""
    layout: str = "auto"
    direction: str = "AtoB"
    splits: tuple = ()
    urls: tuple = ()  # mirrors, tried in order
    archive: str = ""  # zip | tar.gz | tar
    sha256: str | None = None
    size: int | None = None  # archive bytes, when published
    folder: str = ""  # the archive's top folder
    generator: str = ""  # built-in generated dataset (no download)
    extra: dict = field(default_factory=dict)

    @property
    def cache_path(self) -> Path:
        return cache_dir() / "datasets" / self.name

    @property
    def is_cached(self) -> bool:
        return self.cache_path.is_dir()


def card_from_dict(raw: dict, source: str) -> Card:
    """A Card from a parsed YAML mapping, with one-line errors for missing keys."""
    if not isinstance(raw, dict) or not raw.get("name"):
        raise UserError(f"{source}: a dataset card needs at least `name:` and `url:` (or generator)")
    known = {f for f in Card.__dataclass_fields__} - {"urls", "extra"}
    url = raw.get("url") or raw.get("urls") or ()
    urls = (url,) if isinstance(url, str) else tuple(url)
    if not urls and not raw.get("generator"):
        raise UserError(f"{source}: dataset card {raw['name']!r} has no `url:`")
    name = raw["name"]
    if not isinstance(name, str) or not CARD_NAME.fullmatch(name):
        raise UserError(
            f"{source}: dataset card name {name!r} is not a plain name (letters, digits, '.', "
            "'_', '-'; no slashes): it names the cache folder"
        )
    values = {k: v for k, v in raw.items() if k in known}
    values["splits"] = tuple(raw.get("splits") or ())
    if values.get("sha256") is not None:
        sha = str(values["sha256"]).lower()
        if not SHA256.fullmatch(sha):
            raise UserError(
                f"{source}: sha256 {values['sha256']!r} is not 64 hex digits; quote the checksum "
                "in the card, or remove the line to record the first download's"
            )
        values["sha256"] = sha
    extra = {k: v for k, v in raw.items() if k not in known and k not in ("url", "urls")}
    return Card(urls=urls, extra=extra, **values)


def read_card_file(path) -> Card:
    """A card from a YAML file of the user's (e.g. a private dataset's download)."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the dataset card ({exc})") from None
    return card_from_dict(raw, str(path))


def builtin_cards() -> dict[str, Card]:
    """The cards shipped with the package, by name (package data, so wheels have them too)."""
    import importlib.resources

    import yaml

    cards = {}
    for entry in importlib.resources.files(CARD_PACKAGE).iterdir():
        if entry.name.endswith(".yaml"):
            card = card_from_dict(yaml.safe_load(entry.read_text()), f"card {entry.name}")
            cards[card.name] = card
    return dict(sorted(cards.items()))


def get_card(name: str) -> Card | None:
    return builtin_cards().get(name)
