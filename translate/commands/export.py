"""`translate export RUN OUTPUT_BASE`: a SavedModel that TF Serving loads as is."""

from __future__ import annotations

import typer


def export(
    run: str = typer.Argument(..., help="Run directory made by `translate fit` (runs/<name>-<n>)."),
    output_base: str = typer.Argument(
        ..., help="TF Serving's model base path; the export goes to OUTPUT_BASE/NAME/VERSION/."
    ),
    name: str = typer.Option(
        None, "--name", help="Model name in TF Serving (default: the run's name)."
    ),
    version: int = typer.Option(
        None,
        "--version",
        min=1,
        help="Version folder (default: the next free integer); never overwritten.",
    ),
    direction: str = typer.Option(
        "both", "--direction", help="AtoB, BtoA or both (CycleGAN; Pix2Pix has only AtoB)."
    ),
    epoch: int = typer.Option(
        None, "--epoch", help="Export the checkpoint of this epoch (default: the latest)."
    ),
    warmup: bool = typer.Option(
        True, "--warmup/--no-warmup", help="Write assets.extra/tf_serving_warmup_requests."
    ),
) -> None:
    """Export a trained run for TF Serving: `translate export runs/horse2zebra-1 serving/`."""
    from translate import api
    from translate.export import read_export_metadata

    path = api.export(
        run, output_base, name=name, version=version, direction=direction, epoch=epoch,
        warmup=warmup,
    )
    info = read_export_metadata(path)
    signatures = ", ".join(
        f"{d}: {s['images']} / {s['tensor']}" for d, s in info["signatures"].items()
    )
    typer.echo(f"exported {path}")
    typer.echo(
        f"  signatures: serving_default and translate_tensor ({info['default_direction']}); "
        f"{signatures}"
    )
    typer.echo(
        f"  serve it:   docker run -p 8501:8501 -v {path.parent.resolve()}:/models/"
        f"{path.parent.name} -e MODEL_NAME={path.parent.name} tensorflow/serving"
    )
