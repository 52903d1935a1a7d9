"""The `translate` command line: a thin Typer layer over the package.

Heavy imports (TensorFlow, Keras) happen inside the commands so that `translate --help` is instant.
Every command body delegates to a module of the package; this file only parses options.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from translate import __version__
from translate.errors import UserError

app = typer.Typer(
    name="translate",
    help="Image-to-image translation (Pix2Pix, CycleGAN) on Keras 3 / TensorFlow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="List, fetch and inspect datasets.", no_args_is_help=True)
recipes_app = typer.Typer(help="List and show training recipes.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(recipes_app, name="recipes")

err_console = Console(stderr=True)


def _not_available(command: str) -> None:
    raise UserError(f"`translate {command}` is not available yet in this version.")


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


@app.command()
def fit() -> None:
    """Train a model from a recipe or a model kind and a dataset."""
    _not_available("fit")


@app.command()
def apply() -> None:
    """Translate an image, a folder or a glob with a run or an exported model."""
    _not_available("apply")


@app.command()
def export() -> None:
    """Export a run as a SavedModel that TF Serving loads as is."""
    _not_available("export")


@app.command()
def evaluate() -> None:
    """Measure a run or an exported model on a dataset (PSNR/SSIM, FID/KID)."""
    _not_available("evaluate")


@datasets_app.command("list")
def datasets_list() -> None:
    """List the known datasets and whether they are cached."""
    _not_available("datasets list")


@datasets_app.command("fetch")
def datasets_fetch() -> None:
    """Download, verify and extract a dataset into the cache."""
    _not_available("datasets fetch")


@datasets_app.command("info")
def datasets_info() -> None:
    """Counts per split, image sizes and problems of a dataset or folder."""
    _not_available("datasets info")


@recipes_app.command("list")
def recipes_list() -> None:
    """List the built-in recipes."""
    _not_available("recipes list")


@recipes_app.command("show")
def recipes_show() -> None:
    """Show a recipe's resolved config."""
    _not_available("recipes show")


def main() -> None:
    """Console entry point: user errors and usage errors become one red line, exit code 2."""
    from typer._click import exceptions as click_exc

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
            f"[red]error:[/red] {exc.format_message()}{hint}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
    except UserError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
