"""`translate evaluate`: score a run or SavedModel on a folder, next to the trivial baseline."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.markup import escape

from translate.errors import UserError

# label, and which way is better: "up", "down", "" (a difference without a verdict: for
# colourfulness the reference's is the target) or None (no difference column)
METRIC_LABELS = {
    "psnr_y": ("PSNR-Y (dB)", "up"), "ssim_y": ("SSIM-Y", "up"),
    "psnr": ("PSNR (dB)", "up"), "ssim": ("SSIM", "up"),
    "colourfulness": ("colourfulness", ""), "colourfulness_reference": ("  of the references", None),
    "fid": ("FID", "down"), "kid": ("KID", "down"), "kid_std": ("  KID spread", None),
}


def _default_out(source: str, data: str, split: str, direction: str = "AtoB") -> str:
    """`<run>/eval/<data>[-<split>][-BtoA].json` for a run; `eval-<model>-<data>...json` here
    otherwise. The two directions of a CycleGAN get a report each."""
    from translate.runs import is_run_dir

    stem = Path(data).resolve().name
    if not any((Path(data) / name).is_dir() for name in (split, f"{split}A")):
        split = ""
    stem = f"{stem}-{split}" if split else stem
    stem = f"{stem}-{direction}" if direction != "AtoB" else stem
    if is_run_dir(source):
        return str(Path(source) / "eval" / f"{stem}.json")
    return f"eval-{Path(source).resolve().name}-{stem}.json"


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


def _directions(source: str, direction: str | None) -> tuple[str, str]:
    """(generator direction, data direction). A Pix2Pix run has one generator ("AtoB") whatever
    side of the pairs it was trained from; its data direction defaults to the run's own."""
    from translate.runs import CONFIG_FILE, is_run_dir

    if is_run_dir(source):
        from translate.config import load_config

        config = load_config(Path(source) / CONFIG_FILE)
        if config.model.kind == "pix2pix":
            return "AtoB", direction or config.data.direction
    return direction or "AtoB", direction or "AtoB"


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
    import json
    from pathlib import Path

    from rich.progress import Progress

    if not Path(data).is_dir():
        from translate.data.cards import get_card

        if get_card(data) is None:
            raise UserError(f"DATA {data}: no such folder nor dataset name (translate datasets list)")
        from translate.data import resolve_dataset

        data = str(resolve_dataset(data).root)  # a dataset card: from the cache, fetched once
    if not Path(source).exists():
        raise UserError(f"SOURCE {source}: no such run directory or SavedModel")

    from translate.evaluation import evaluate as run_evaluate
    from translate.evaluation import json_ready
    from translate.inference import load_translator
    from translate.io_utils import atomic_write_text

    generator_direction, direction = _directions(source, direction)
    translator = load_translator(source, direction=generator_direction, epoch=epoch, tile=tile)
    with Progress(transient=True) as bar:
        task_id = bar.add_task("evaluating", total=None)
        report = run_evaluate(
            translator,
            data,
            split=split,
            direction=direction,
            inception_weights=inception_weights,
            max_images=max_images,
            progress=lambda done, total: bar.update(task_id, completed=done, total=total),
        )
    report = {"source": str(source), "data": str(data), "split": split, "direction": direction,
              "epoch": epoch, **report}
    path = Path(out or _default_out(source, data, split, direction))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(json_ready(report), indent=2) + "\n")
    from translate.runs import is_run_dir

    if is_run_dir(source) and path.parent.resolve() == (Path(source) / "eval").resolve():
        from translate.model_card import write_run_card

        write_run_card(source)  # the card lists the run's reports
    _print_table(report)
    typer.echo(f"wrote {path}")
