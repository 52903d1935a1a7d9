"""`translate apply RUN|SAVEDMODEL INPUT OUTPUT`: translate files and folders of any size."""

from __future__ import annotations

import typer
from rich.markup import escape


def apply(
    source: str = typer.Argument(
        ..., help="Run directory (runs/<name>-<n>) or export (OUTPUT_BASE/NAME or OUTPUT_BASE/NAME/VERSION)."
    ),
    input: str = typer.Argument(  # noqa: A002 (the user-facing name)
        ..., help="An image, a folder, or a quoted glob such as 'photos/**/*.jpg'."
    ),
    output: str = typer.Argument(..., help="Folder for the results; mirrors the input tree."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Include subfolders."),
    fmt: str = typer.Option("png", "--format", "-f", help="Output format: png, jpg or webp."),
    quality: int = typer.Option(None, "--quality", help="jpg/webp quality 1-100 [95]."),
    epoch: int = typer.Option(None, "--epoch", help="Use the checkpoint of epoch K \\[latest]."),
    direction: str = typer.Option("AtoB", "--direction", help="AtoB or BtoA (CycleGAN)."),
    tile: int = typer.Option(
        None,
        "--tile",
        help="Translate images larger than this in overlapping tiles (pixels); "
        "instance-norm models normalise each tile on its own, so prefer whole images there.",
    ),
    tile_overlap: int = typer.Option(32, "--tile-overlap", help="Overlap of tiles in pixels."),
    batch_size: int = typer.Option(1, "--batch-size", "-b", help="Images (or tiles) per step."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that exist."),
    compare: bool = typer.Option(
        False, "--compare", help="Also write input|output images and an index.html gallery."
    ),
    workers: int = typer.Option(None, "--workers", help="Decode/encode threads \\[min(4, CPUs)]."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Translate images: `translate apply runs/horse2zebra-1 photos/ zebras/ --recursive`.

    Whole images are padded to the generator's size multiple and cropped back; outputs that
    exist are skipped (an interrupted run resumes). Exit code 1 when some inputs failed.
    """
    from rich.console import Console

    from translate import api

    summary = api.apply(
        source, input, output, recursive=recursive, fmt=fmt, quality=quality, epoch=epoch,
        direction=direction, tile=tile, tile_overlap=tile_overlap, batch_size=batch_size,
        overwrite=overwrite, compare=compare, workers=workers, progress=not quiet,
    )
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for path, reason in summary.failed:
        console.print(
            "[red]failed:[/red] "
            + escape(reason if str(path) in reason else f"{path}: {reason}")
        )
    rate = f" ({summary.images_per_second:.2f} images/s)" if summary.done else ""
    hint = " (outputs exist; --overwrite redoes them)" if summary.skipped else ""
    console.print(
        f"done {summary.done}, skipped {summary.skipped}{hint}, "
        f"failed {len(summary.failed)}{rate} -> {summary.output}",
        markup=False,
    )
    if summary.fallbacks:
        console.print(f"{summary.fallbacks} batch(es) did not fit in memory and ran in tiles")
    if summary.gallery is not None:
        console.print(f"gallery: {summary.gallery}", markup=False)
    if summary.failed:
        raise typer.Exit(1)
