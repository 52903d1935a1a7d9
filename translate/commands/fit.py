"""`translate fit`: train a model into a run directory, or continue one with `--resume`."""

from __future__ import annotations

import typer

from translate.errors import UserError


def fit(
    model: str = typer.Argument(None, help="pix2pix or cyclegan (optional with --recipe)."),
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
    from pathlib import Path

    from translate.config import extend_run, fit_overrides, resolve_config
    from translate.runs import CONFIG_FILE, is_run_dir
    from translate.training import fit as run_fit

    progress = "json" if json_lines else "quiet" if quiet else "bar"
    flags = {
        "data": data_path, "epochs": epochs, "epochs_decay": epochs_decay,
        "steps_per_epoch": steps_per_epoch, "batch_size": batch_size, "lr": lr,
        "direction": direction, "netG": net_g, "netD": net_d, "strategy": strategy,
        "precision": precision, "jit": jit, "seed": seed, "project": project,
    }
    if resume:
        if not is_run_dir(resume):
            raise UserError(f"--resume {resume}: not a run directory (no {CONFIG_FILE})")
        others = {"MODEL": model, "DATA": data, "--recipe": recipe, "--name": name,
                  "--size": size, "--set": set_,
                  **{f"--{flag.replace('_', '-')}": value for flag, value in flags.items()}}
        given = [flag for flag, value in others.items() if value not in (None, [])]
        given = [flag for flag in given if flag not in ("--epochs", "--epochs-decay")]
        if given:
            raise UserError(
                f"--resume continues a run as it was configured; {given[0]} cannot change it "
                "(only --epochs and --epochs-decay can, to extend it); start a new run instead"
            )
        config = extend_run(Path(resume), epochs, epochs_decay)
    else:
        overrides = fit_overrides(name=name, size=size, sets=set_, **flags)
        config = resolve_config(model=model, data=data, recipe=recipe, overrides=overrides)
    run_fit(config, resume=resume, progress=progress)
