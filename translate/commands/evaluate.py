"""`translate evaluate`: score a run or SavedModel on a folder, next to the trivial baseline."""

from __future__ import annotations

import math

import typer
from rich.markup import escape

# label, and which way is better: "up", "down", "" (a difference without a verdict: for
# colourfulness the reference's is the target) or None (no difference column)
METRIC_LABELS = {
    "psnr_y": ("PSNR-Y (dB)", "up"), "ssim_y": ("SSIM-Y", "up"),
    "psnr": ("PSNR (dB)", "up"), "ssim": ("SSIM", "up"),
    "colourfulness": ("colourfulness", ""), "colourfulness_reference": ("  of the references", None),
    "fid": ("FID", "down"), "kid": ("KID", "down"), "kid_std": ("  KID spread", None),
}


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{report['task']}: {report['images']} images, baseline {report['baseline']}",
        caption=report["protocol"],
    )
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column(report["baseline"], justify="right")
    table.add_column("model - baseline", justify="right")
    for name, values in report["metrics"].items():
        label, better = METRIC_LABELS.get(name, (name, ""))
        digits = 4 if name in ("ssim", "ssim_y", "kid", "kid_std") else 2
        model, baseline = float(values["model"]), float(values["baseline"])
        delta = ""
        if better is not None and math.isfinite(model - baseline):
            delta = f"{model - baseline:+.{digits}f}"
            if better:
                colour = "green" if (model > baseline) == (better == "up") else "red"
                delta = f"[{colour}]{delta}[/{colour}]"
        table.add_row(label, f"{model:.{digits}f}", f"{baseline:.{digits}f}", delta)
    console = Console()
    console.print(table)
    for note in report["notes"]:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)


def evaluate(
    source: str = typer.Argument(..., help="A run directory (runs/<name>-<n>) or a SavedModel."),
    data: str = typer.Argument(
        ...,
        help="Folder of test images: HR photos or Set5/Set14 (superres), photos (colorization), "
        "a dataset folder with <split>/ or <split>A/ + <split>B/ (translation); or a dataset "
        "name (set5, facades, ...).",
    ),
    split: str = typer.Option("test", "--split", help="Split of a translation dataset."),
    direction: str = typer.Option(
        None, "--direction",
        help="AtoB or BtoA: which side of the data is the input (and, for CycleGAN, which "
        "generator). Default: a Pix2Pix run's own data.direction, else AtoB.",
    ),
    epoch: int = typer.Option(None, "--epoch", help="A kept epoch of the run (default: the latest)."),
    out: str = typer.Option(
        None, "--out", "-o", help="JSON report (default: <run>/eval/<data>.json, or ./eval-*.json)."
    ),
    inception_weights: str = typer.Option(
        None,
        "--inception-weights",
        help="InceptionV3 notop .h5 for FID/KID (default: the Keras cache, ~/.keras/models).",
    ),
    max_images: int = typer.Option(None, "--max-images", help="Score only the first N images."),
    tile: int = typer.Option(None, "--tile", help="Run the model on tiles of this size."),
) -> None:
    """Score a model on held-out images next to the trivial baseline; write JSON, print a table.

    Super-resolution: PSNR/SSIM on Y, border shaved, vs bicubic. Colorization: PSNR/SSIM in RGB
    and colourfulness, vs gray. Translation: PSNR/SSIM vs paired targets, FID/KID vs the target
    domain, vs the identity. Example: `translate evaluate runs/sr-1 ../shared/data/Set5`.
    """
    from rich.progress import Progress

    from translate import api

    with Progress(transient=True) as bar:
        task_id = bar.add_task("evaluating", total=None)
        report = api.evaluate(
            source, data, split=split, direction=direction, epoch=epoch, out=out,
            inception_weights=inception_weights, max_images=max_images, tile=tile,
            progress=lambda done, total: bar.update(task_id, completed=done, total=total),
        )
    _print_table(report)
    typer.echo(f"wrote {report['report_path']}")
