"""What to read and where to write: inputs listed, outputs planned, never over an input."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from translate.data.imageio import IMAGE_SUFFIXES
from translate.data.imageio import OUTPUT_FORMATS as FORMATS
from translate.errors import UserError

COMPARE_DIR = "_compare"  # side-by-side images for --compare, next to index.html
GALLERY_FILE = "index.html"
MARKER_FILE = ".translate-apply"  # marks a folder as apply's output (hidden, never read as input)
GLOB_CHARS = "*?["


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
    fallbacks: int = 0  # batches that did not fit in memory whole and ran in tiles

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
