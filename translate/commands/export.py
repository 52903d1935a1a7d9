"""`translate export RUN OUTPUT_BASE`: a SavedModel that TF Serving loads as is, or ONNX / TFLite
files (`--format onnx|tflite`)."""

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
    fmt: str = typer.Option(
        "saved_model", "--format", help="saved_model (TF Serving), onnx (ONNX Runtime) or tflite "
        "(LiteRT): OUTPUT_BASE/NAME/<format>/<direction>.<ext> and metadata.json."
    ),
    quantize: str = typer.Option(
        "none", "--quantize", help="tflite only: none, float16 (weights) or int8 (dynamic range)."
    ),
) -> None:
    """Export a trained run for TF Serving: `translate export runs/horse2zebra-1 serving/`; for
    ONNX Runtime or LiteRT: `--format onnx`, `--format tflite [--quantize float16|int8]`."""
    from translate import api
    from translate.export import read_export_metadata

    path = api.export(
        run, output_base, name=name, version=version, direction=direction, epoch=epoch,
        warmup=warmup, fmt=fmt, quantize=quantize,
    )
    if fmt != "saved_model":
        import json

        info = json.loads((path / "metadata.json").read_text())
        typer.echo(f"exported {path}: " + ", ".join(
            f"{d}: {f}" for d, f in info["files"].items()))
        typer.echo("  in: float32 [N, H, W, 3] RGB in [0, 1]; out: float32 [N, H*scale, W*scale, "
                   f"3] in [0, 1] (scale {info['scale']}); check it: translate apply "
                   f"{path / next(iter(info['files'].values()))} photos/ out/")
        return
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
