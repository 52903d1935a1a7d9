"""The `translate` command line: a thin Typer layer over the package.

Heavy imports (TensorFlow, Keras) happen inside the commands so that `translate --help` is instant.
Every command body delegates to a module of the package; this file only parses options.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from translate import __version__, import_tensorflow_quietly
from translate.commands import apply as apply_cmd
from translate.commands import datasets as datasets_cmd
from translate.commands import evaluate as evaluate_cmd
from translate.commands import export as export_cmd
from translate.commands import import_ as import_cmd
from translate.errors import UserError

app = typer.Typer(
    name="translate",
    help="Image-to-image translation (Pix2Pix, CycleGAN) on Keras 3 / TensorFlow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
recipes_app = typer.Typer(
    help="List and show training recipes.", no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(datasets_cmd.app, name="datasets")
app.add_typer(recipes_app, name="recipes")
app.command()(apply_cmd.apply)
app.command()(export_cmd.export)
app.command()(evaluate_cmd.evaluate)
app.command("import")(import_cmd.import_)

err_console = Console(stderr=True)
# Commands that load TensorFlow; anything else (a typo, `recipes`, `datasets`) answers at once.
TENSORFLOW_COMMANDS = {"fit", "apply", "export", "evaluate", "import"}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"translate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Image-to-image translation (Pix2Pix, CycleGAN) on Keras 3 / TensorFlow."""


@app.command(context_settings={"help_option_names": ["-h", "--help"]})
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

    from translate.config import extend_run, merge, parse_set, resolve_config
    from translate.runs import CONFIG_FILE, is_run_dir

    progress = "json" if json_lines else "quiet" if quiet else "bar"
    flat = {
        ("data", "dataset"): data_path, ("train", "epochs"): epochs,
        ("train", "epochs_decay"): epochs_decay, ("train", "steps_per_epoch"): steps_per_epoch,
        ("data", "batch_size"): batch_size, ("train", "lr"): lr,
        ("data", "direction"): direction, ("model", "netG"): net_g, ("model", "netD"): net_d,
        ("runtime", "strategy"): strategy, ("runtime", "precision"): precision,
        ("runtime", "jit"): jit, ("runtime", "seed"): seed, ("runtime", "project"): project,
    }
    if resume:
        if not is_run_dir(resume):
            raise UserError(f"--resume {resume}: not a run directory (no {CONFIG_FILE})")
        others = {
            "MODEL": model, "DATA": data, "--recipe": recipe, "--name": name, "--size": size,
            "--set": set_, **{f"--{k.replace('_', '-')}": v for (_, k), v in flat.items()},
        }
        given = [flag for flag, value in others.items() if value not in (None, [])]
        given = [flag for flag in given if flag not in ("--epochs", "--epochs-decay")]
        if given:
            raise UserError(
                f"--resume continues a run as it was configured; {given[0]} cannot change it "
                "(only --epochs and --epochs-decay can, to extend it); start a new run instead"
            )
        config = extend_run(Path(resume), epochs, epochs_decay)
    else:
        if size is not None:
            flat[("data", "crop_size")] = size
            flat[("data", "load_size")] = round(size * 286 / 256)
        overrides: dict = {"name": name} if name else {}
        for (section, key), value in flat.items():
            if value is not None:
                overrides.setdefault(section, {})[key] = value
        overrides = merge(overrides, parse_set(set_ or []))
        config = resolve_config(model=model, data=data, recipe=recipe, overrides=overrides)

    from translate.training import fit as run_fit

    run_fit(config, resume=resume, progress=progress)


@recipes_app.command("list")
def recipes_list() -> None:
    """List the built-in recipes."""
    from rich.table import Table

    from translate.config import read_recipe, recipe_names

    table = Table("recipe", "model", "dataset", "description")
    for name in recipe_names():
        raw, _ = read_recipe(name)
        table.add_row(name, (raw.get("model") or {}).get("kind", "cyclegan"),
                      str((raw.get("data") or {}).get("dataset", "")), raw.get("description", ""))
    Console().print(table)


@recipes_app.command("show")
def recipes_show(
    recipe: str = typer.Argument(..., help="Recipe name or YAML file."),
    set_: list[str] = typer.Option(None, "--set", help="section.key=value overrides."),
) -> None:
    """Show a recipe's resolved config (every option, defaults filled in)."""
    import yaml

    from translate.config import parse_set, resolve_config, to_dict

    config = resolve_config(recipe=recipe, overrides=parse_set(set_ or []))
    typer.echo(yaml.safe_dump(to_dict(config), sort_keys=False).rstrip())


def main() -> None:
    """Console entry point: user errors and usage errors become one red line, exit code 2."""
    from typer._click import exceptions as click_exc

    argv = sys.argv[1:]
    if argv and argv[0] in TENSORFLOW_COMMANDS and not {"-h", "--help", "--version"} & set(argv):
        import_tensorflow_quietly()  # before Typer: TF's own start-up lines stay quiet
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except click_exc.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click_exc.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        err_console.print(
            f"[red]error:[/red] {escape(exc.format_message() + hint)}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
    except UserError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
