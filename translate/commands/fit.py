"""`translate fit`: train a model into a run directory, or continue one with `--resume`."""

from __future__ import annotations

import typer


def fit(
    model: str = typer.Argument(None, help="pix2pix, cyclegan or cut (optional with --recipe)."),
    data: str = typer.Argument(None, help="Dataset name (see `translate datasets list`) or folder."),
    recipe: str = typer.Option(None, "--recipe", "-r", help="Recipe name or YAML file."),
    data_path: str = typer.Option(None, "--data", help="Dataset name or folder (overrides DATA)."),
    resume: str = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    name: str = typer.Option(None, "--name", help="Run name: runs/<name>-<n>."),
    project: str = typer.Option(None, "--project", help="Folder of run directories \\[runs]."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs at the initial learning rate."),
    epochs_decay: int = typer.Option(None, "--epochs-decay", help="Epochs of linear decay to 0."),
    steps_per_epoch: int = typer.Option(None, "--steps-per-epoch", help="Cap the steps of an epoch."),
    batch_size: int = typer.Option(None, "--batch-size", "-b", help="Global batch size."),
    lr: float = typer.Option(None, "--lr", help="Initial learning rate (Adam)."),
    size: int = typer.Option(None, "--size", help="Training crop size (load size scales with it)."),
    direction: str = typer.Option(None, "--direction", help="AtoB or BtoA."),
    net_g: str = typer.Option(None, "--netG", help="Generator architecture."),
    net_d: str = typer.Option(None, "--netD", help="Discriminator architecture."),
    strategy: str = typer.Option(None, "--strategy", help="auto|cpu|gpu|mirrored|multi-worker|tpu"),
    precision: str = typer.Option(None, "--precision", help="float32|mixed_bfloat16|mixed_float16"),
    jit: bool = typer.Option(None, "--jit/--no-jit", help="XLA-compile the train step."),
    seed: int = typer.Option(None, "--seed", help="Seed for weights, data order and augmentation."),
    set_: list[str] = typer.Option(None, "--set", help="Any option: section.key=value (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="One line per epoch, no bar."),
    json_lines: bool = typer.Option(False, "--json", help="JSON lines per epoch, for scripts."),
) -> None:
    """Train a model: `translate fit cyclegan horse2zebra`, `translate fit --recipe demo`."""
    from translate import api

    progress = "json" if json_lines else "quiet" if quiet else "bar"
    api.fit(
        model, data, recipe=recipe, resume=resume, name=name, size=size, sets=set_ or (),
        progress=progress, data_path=data_path, epochs=epochs, epochs_decay=epochs_decay,
        steps_per_epoch=steps_per_epoch, batch_size=batch_size, lr=lr, direction=direction,
        netG=net_g, netD=net_d, strategy=strategy, precision=precision, jit=jit, seed=seed,
        project=project,
    )
