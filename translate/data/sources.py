"""Where images come from: folder layouts, dataset names, and a check of every file.

A dataset argument is a card name (from the cache, else downloaded or generated), a card YAML
file, or a folder. Layouts:
- `unaligned`: `<split>A/` and `<split>B/` (trainA, trainB, testA, testB: CycleGAN's convention),
- `aligned`: `<split>/` holding A|B side by side in one image (pix2pix's convention), or `A/` and
  `B/` (optionally `A/<split>/`, `B/<split>/`) whose files pair up by name,
- `single`: a plain folder of images (for apply, and for tasks that make their own pairs).
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from translate.data.cards import Card, builtin_cards, cache_dir, get_card, read_card_file
from translate.data.imageio import TRAINING_SUFFIXES
from translate.errors import UserError

log = logging.getLogger("translate.data")

LAYOUTS = ("auto", "unaligned", "aligned", "single")
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF")
LAYOUT_HELP = (
    "expected trainA/ + trainB/ (unaligned), train/ with A|B side-by-side images or A/ + B/ "
    "with matching names (aligned), or a folder of images (single)"
)


@dataclass(frozen=True)
class ImageInfo:
    """What a file's header says: its upright size and EXIF orientation."""

    path: Path
    width: int
    height: int
    orientation: int = 1


@dataclass
class CheckedSplit:
    """A split's readable images per domain (pairs stay aligned) and what was skipped."""

    domains: dict[str, list[ImageInfo]]
    skipped: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class DatasetSpec:
    """A resolved dataset: its folder, layout and image files per split and domain.

    Domains: "A", "B" for unaligned and name-paired aligned data; "AB" for side-by-side pairs;
    "image" for single. `problems` collects what was found wrong while listing (unpaired names).
    """

    name: str
    root: Path
    layout: str
    files: dict[str, dict[str, list[Path]]]
    card: Card | None = None
    problems: list[str] = field(default_factory=list)
    _checked: dict = field(default_factory=dict, repr=False)

    @property
    def splits(self) -> list[str]:
        return list(self.files)

    def has_split(self, split: str) -> bool:
        return split in self.files and all(self.files[split].values())

    def domains(self, split: str) -> dict[str, list[Path]]:
        """The listed files of a split; a clear error when it is missing or empty."""
        if split not in self.files:
            found = ", ".join(self.files) or "none"
            raise UserError(
                f"dataset {self.root}: no {split!r} split (found: {found}); "
                f"{self._split_help(split)}"
            )
        for domain, paths in self.files[split].items():
            if not paths:
                raise UserError(
                    f"dataset {self.root}: split {split!r} has no images in domain {domain} "
                    f"({self._split_help(split)})"
                )
        return self.files[split]

    def _split_help(self, split: str) -> str:
        if self.layout == "unaligned":
            return f"expected images in {split}A/ and {split}B/"
        if self.layout == "aligned":
            return f"expected A|B images in {split}/ (or A/{split}/ and B/{split}/)"
        return f"expected images in {split}/ or directly in the folder"

    def checked(self, split: str) -> CheckedSplit:
        """The split with every file's header read; unreadable files skipped with one warning each."""
        if split not in self._checked:
            self._checked[split] = _check_split(self, split)
        return self._checked[split]


# ---------------------------------------------------------------------------------------------
# Listing folders


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted by name (hidden files ignored)."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir()
        if p.suffix.lower() in TRAINING_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _subdirs(root: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}


def _ab_split_names(subdirs: dict[str, Path]) -> list[str]:
    """Splits s with both sA/ and sB/ folders (trainA + trainB -> train)."""
    return [n[:-1] for n in subdirs if n.endswith("A") and len(n) > 1 and f"{n[:-1]}B" in subdirs]


def _is_side_by_side(paths: list[Path]) -> bool | None:
    """True when sampled images are twice as wide as high, False when none are, None when mixed."""
    from PIL import Image

    votes = []
    for path in paths[:: max(1, len(paths) // 8)][:8]:
        try:
            with Image.open(path) as im:
                votes.append(im.size[0] == 2 * im.size[1])
        except Exception:
            continue
    if not votes:
        return False
    return True if all(votes) else False if not any(votes) else None


def _plain_split_dirs(root: Path) -> dict[str, list[Path]]:
    """Subfolders holding images that are not part of an A/B pair of folders."""
    subdirs = _subdirs(root)
    paired = set(_ab_split_names(subdirs))
    skip = {f"{s}A" for s in paired} | {f"{s}B" for s in paired} | {"A", "B"}
    return {n: imgs for n, d in subdirs.items() if n not in skip and (imgs := list_images(d))}


def detect_layout(root: Path, paired: bool = False) -> str:
    """unaligned, aligned or single from the folder structure; a clear error when unclear.

    paired: the model needs pairs (Pix2Pix), so A|B images in train/ win over trainA/ + trainB/
    when a folder has both (as the CycleGAN facades archive does).
    """
    subdirs = _subdirs(root)
    if paired:
        split_dirs = _plain_split_dirs(root)
        sample = [p for imgs in split_dirs.values() for p in imgs[:4]]
        if sample and _is_side_by_side(sample):
            return "aligned"
    if _ab_split_names(subdirs):
        return "unaligned"
    if "A" in subdirs and "B" in subdirs:
        return "aligned" if _name_pairs_match(subdirs["A"], subdirs["B"]) else "unaligned"
    split_dirs = _plain_split_dirs(root)
    if split_dirs:
        sample = [p for imgs in split_dirs.values() for p in imgs[:4]]
        side_by_side = _is_side_by_side(sample)
        if side_by_side is None:
            raise UserError(
                f"cannot detect the layout of {root}: some images in "
                f"{', '.join(split_dirs)} are A|B pairs (twice as wide as high) and some are not; "
                "set data.layout (--set data.layout=aligned|single)"
            )
        return "aligned" if side_by_side else "single"
    if list_images(root) or any(True for _ in _walk_images(root)):
        return "single"
    raise UserError(f"cannot detect the layout of {root}: no images found; {LAYOUT_HELP}")


def _walk_images(root: Path):
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in TRAINING_SUFFIXES and p.is_file() and not p.name.startswith("."):
            yield p


def _name_pairs_match(a_dir: Path, b_dir: Path) -> bool:
    a = {p.stem for p in list_images(a_dir)} or {d for d in _subdirs(a_dir)}
    b = {p.stem for p in list_images(b_dir)} or {d for d in _subdirs(b_dir)}
    return bool(a) and (a <= b or b <= a)


def _pair_by_name(a: list[Path], b: list[Path], where: str, problems: list[str]):
    """A and B files with the same name (stem), in order; unmatched ones become problems."""
    b_by_stem = {p.stem: p for p in b}
    pairs = [(p, b_by_stem[p.stem]) for p in a if p.stem in b_by_stem]
    unmatched = len(a) + len(b) - 2 * len(pairs)
    if unmatched:
        problems.append(f"{where}: {unmatched} file(s) without a same-named partner were left out")
    return [p for p, _ in pairs], [q for _, q in pairs]


def _list_unaligned(root: Path) -> dict:
    subdirs = _subdirs(root)
    splits = {s: {"A": list_images(subdirs[f"{s}A"]), "B": list_images(subdirs[f"{s}B"])}
              for s in _ab_split_names(subdirs)}
    if not splits and "A" in subdirs and "B" in subdirs:
        a, b = subdirs["A"], subdirs["B"]
        if list_images(a) or list_images(b):
            splits["train"] = {"A": list_images(a), "B": list_images(b)}
        for s in sorted(set(_subdirs(a)) & set(_subdirs(b))):
            splits[s] = {"A": list_images(a / s), "B": list_images(b / s)}
    return splits


def _list_aligned(root: Path, problems: list[str]) -> dict:
    split_dirs = _plain_split_dirs(root)
    if split_dirs:
        return {s: {"AB": imgs} for s, imgs in split_dirs.items()}
    subdirs = _subdirs(root)
    folders: dict[str, tuple[Path, Path]] = {}
    if "A" in subdirs and "B" in subdirs:
        a, b = subdirs["A"], subdirs["B"]
        if list_images(a):
            folders["train"] = (a, b)
        for s in sorted(set(_subdirs(a)) & set(_subdirs(b))):
            folders[s] = (a / s, b / s)
    else:
        for s in _ab_split_names(subdirs):
            folders[s] = (subdirs[f"{s}A"], subdirs[f"{s}B"])
    splits = {}
    for s, (a, b) in folders.items():
        pa, pb = _pair_by_name(list_images(a), list_images(b), f"{root.name}/{s}", problems)
        splits[s] = {"A": pa, "B": pb}
    return splits


# Subfolder names taken as splits of a single-layout folder; other subfolders (sr291's T91/ and
# BSD200/) are parts of one training set.
SPLIT_NAMES = ("train", "val", "valid", "validation", "test")


def _list_single(root: Path) -> dict:
    if images := list_images(root):
        return {"train": {"image": images}}
    if split_dirs := _plain_split_dirs(root):
        if not set(split_dirs) & set(SPLIT_NAMES):
            return {"train": {"image": [p for imgs in split_dirs.values() for p in imgs]}}
        return {s: {"image": imgs} for s, imgs in split_dirs.items()}
    if ab_splits := _ab_split_names(_subdirs(root)):  # both domains of unaligned data, by split
        return {s: {"image": list_images(root / f"{s}A") + list_images(root / f"{s}B")}
                for s in ab_splits}
    return {"train": {"image": list(_walk_images(root))}}


def folder_spec(
    root, layout: str = "auto", name: str | None = None, card: Card | None = None,
    paired: bool = False,
):
    """A DatasetSpec for a folder, with the layout detected unless given."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise UserError(f"data.layout={layout!r} is not valid; choose one of {', '.join(LAYOUTS)}")
    if not root.is_dir():
        raise UserError(f"dataset folder {root} not found; give a folder of images or a dataset "
                        "name from `translate datasets list`")
    if layout == "auto":
        layout = detect_layout(root, paired=paired)
    problems: list[str] = []
    if layout == "unaligned":
        files = _list_unaligned(root)
    elif layout == "aligned":
        files = _list_aligned(root, problems)
    else:
        files = _list_single(root)
    if not files or not any(any(d.values()) for d in files.values()):
        raise UserError(f"{root}: no images for layout {layout}; {LAYOUT_HELP}")
    for problem in problems:
        log.warning("warning: %s", problem)
    return DatasetSpec(name or root.name, root, layout, files, card=card, problems=problems)


def resolve_dataset(
    name_or_path, layout: str = "auto", download: bool = True, paired: bool = False
) -> DatasetSpec:
    """A card name (cached, else fetched or generated), a card .yaml file, or a folder.

    paired: detect the layout for a model that needs pairs (see detect_layout).
    """
    arg = str(name_or_path)
    path = Path(arg).expanduser()
    if path.is_dir():
        return folder_spec(path, layout, paired=paired)
    if arg.endswith((".yaml", ".yml")) and path.is_file():
        card = read_card_file(path)
    else:
        card = get_card(arg)
    if card is None:
        if path.is_file():
            raise UserError(f"dataset {arg} is a file; give a folder of images, a dataset card "
                            ".yaml or a dataset name from `translate datasets list`")
        if "/" in arg or "\\" in arg or arg.startswith(("~", ".")):
            raise UserError(f"dataset folder {arg} not found; give an existing folder or a "
                            "dataset name from `translate datasets list`")
        names = ", ".join(builtin_cards())
        raise UserError(f"unknown dataset {arg!r}; known datasets: {names} (or give a folder)")
    if not card.is_cached:
        if not download:
            raise UserError(f"dataset {card.name} is not cached; run `translate datasets fetch "
                            f"{card.name}`")
        fetch(card)
    chosen = layout if layout != "auto" else (card.layout or "auto")
    return folder_spec(card.cache_path, chosen, name=card.name, card=card, paired=paired)


def fetch(card: Card, force: bool = False, progress: bool = True) -> Path:
    """Put the card's dataset into the cache (download + verify + extract, or generate)."""
    import shutil
    import tempfile

    from translate.data.download import archive_name, download, extract_archive, sha256_of
    from translate.data.synthetic import ensure_synthetic

    target = card.cache_path
    if target.is_dir() and not force:
        return target
    old = None
    if target.is_dir():  # force: move the old copy aside, drop it only once the new one is in
        old = Path(tempfile.mkdtemp(prefix=f".{card.name}.", suffix=".old", dir=target.parent))
        target.rename(old / "data")
    try:
        if card.generator:
            ensure_synthetic(card.generator, target)
        else:
            archive = cache_dir() / "downloads" / archive_name(card.urls[0])
            # A card without a published sha256 trusts its first complete download that extracts,
            # whose digest is kept beside the downloads: every later fetch is checked against it.
            recorded = archive.with_name(archive.name + ".sha256")
            if force:  # start clean: no partial or unverified download is reused
                archive.unlink(missing_ok=True)
                archive.with_name(archive.name + ".part").unlink(missing_ok=True)
            expected, expected_by = card.sha256, "the card says"
            if not expected and recorded.is_file():
                expected = recorded.read_text().strip()
                expected_by = f"the first download recorded in {recorded}"
            digest = None
            if archive.exists() and expected and sha256_of(archive) != expected:
                archive.unlink()
            if not archive.exists():
                errors = []
                for url in card.urls:
                    try:
                        digest = download(url, archive, expected, progress=progress,
                                          expected_by=expected_by)
                        break
                    except UserError as exc:
                        errors.append(str(exc))
                        if "interrupted" in str(exc) or "checksum" in str(exc):
                            raise
                else:
                    raise UserError(errors[-1])
            try:
                extract_archive(archive, target, folder=card.folder)
            except Exception:
                if not expected:  # nothing vouches for it: a retry downloads it again
                    archive.unlink(missing_ok=True)
                raise
            if not expected:
                digest = digest or sha256_of(archive)  # hashed while downloading, if it was
                recorded.write_text(digest + "\n")
                log.warning("note: %s has no published sha256; recorded the download's, %s, "
                            "in %s: later fetches are checked against it",
                            card.name, digest, recorded)
            archive.unlink()
    except BaseException:
        if old is not None and not target.exists():
            (old / "data").rename(target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------------------------
# Checking files


def read_header(path: Path) -> ImageInfo | str:
    """The file's upright size and orientation from its header, or why it cannot be used.

    Cheap (no pixel decoding), plus an end-marker check that catches truncated JPEG/PNG files.
    """
    from PIL import Image

    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        with Image.open(path) as im:
            fmt, (w, h) = im.format, im.size
            if fmt not in SUPPORTED_FORMATS:
                return f"unsupported format {fmt}"
            if fmt == "PNG":
                exif = Image.Exif()
                if raw := im.info.get("exif"):
                    exif.load(raw)
            else:
                exif = im.getexif()
            orientation = exif.get(0x0112, 1)
        with open(path, "rb") as f:
            f.seek(max(0, size - 1024))
            tail = f.read()
        if fmt == "JPEG" and b"\xff\xd9" not in tail:
            return "truncated JPEG (no end marker)"
        if fmt == "PNG" and b"IEND" not in tail:
            return "truncated PNG (no IEND chunk)"
    except Exception as exc:  # any decoder complaint means: not usable
        return f"not a readable image ({type(exc).__name__})"
    orientation = int(orientation) if orientation in range(1, 9) else 1
    if orientation >= 5:
        w, h = h, w
    return ImageInfo(path, int(w), int(h), orientation)


def read_headers(paths: list[Path]) -> list[ImageInfo | str]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(read_header, paths))


def _check_split(spec: DatasetSpec, split: str) -> CheckedSplit:
    domains = spec.domains(split)
    results = {d: read_headers(paths) for d, paths in domains.items()}
    skipped = [(p, r) for d, paths in domains.items()
               for p, r in zip(paths, results[d], strict=True) if isinstance(r, str)]
    if spec.layout == "aligned" and len(domains) == 2:  # keep pairs: drop both if one is bad
        keep = [not isinstance(a, str) and not isinstance(b, str)
                for a, b in zip(results["A"], results["B"], strict=True)]
        checked = {d: [r for r, k in zip(results[d], keep, strict=True) if k] for d in results}
    else:
        checked = {d: [r for r in rs if not isinstance(r, str)] for d, rs in results.items()}
    for path, reason in skipped:
        log.warning("warning: skipping %s: %s", path, reason)
    if skipped:
        log.warning("warning: %d unusable file(s) skipped in %s split %r", len(skipped),
                    spec.root, split)
    for domain, infos in checked.items():
        if not infos:
            raise UserError(f"dataset {spec.root}: split {split!r} has no readable images in "
                            f"domain {domain}")
    return CheckedSplit(checked, skipped)


def limited(infos: list[ImageInfo], max_items: int) -> list[ImageInfo]:
    return infos[:max_items] if max_items and max_items > 0 else infos


_warned: set = set()  # (folder, split, crop) already reported once in this process


def usable(spec: DatasetSpec, split: str, config) -> dict[str, list[ImageInfo]]:
    """The images one epoch reads, per domain: at most data.max_items; of a single folder
    cropped at full resolution (preprocess crop), those at least crop_size a side (a photo
    folder such as sr291 has a few smaller ones; they are left out with one warning)."""
    domains = {d: limited(items, config.max_items) for d, items in spec.checked(split).domains.items()}
    if spec.layout == "single" and config.preprocess == "crop":
        images = domains["image"]
        kept = [i for i in images if min(i.width, i.height) >= config.crop_size]
        if len(kept) < len(images) and (spec.root, split, config.crop_size) not in _warned:
            _warned.add((spec.root, split, config.crop_size))
            log.warning("warning: %s/%s: %d image(s) smaller than data.crop_size=%d left out",
                        spec.name, split, len(images) - len(kept), config.crop_size)
        domains["image"] = kept
    return domains


def count_examples(spec: DatasetSpec, split: str, config) -> int:
    """Examples in one epoch, as the reference's len(): the larger domain for unaligned data;
    a single folder's images times data.crops_per_image."""
    sizes = [len(infos) for infos in usable(spec, split, config).values()]
    images = max(sizes) if spec.layout == "unaligned" else min(sizes)
    return images * (config.crops_per_image if spec.layout == "single" else 1)


def size_summary(infos: list[ImageInfo], top: int = 3) -> str:
    """'256x256 (400)' style summary of the most common image sizes."""
    counts = Counter((i.width, i.height) for i in infos)
    parts = [f"{w}x{h} ({n})" for (w, h), n in counts.most_common(top)]
    if len(counts) > top:
        parts.append(f"+{len(counts) - top} more sizes")
    return ", ".join(parts)
