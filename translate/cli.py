"""The `translate` command line: a thin Typer layer over the package.

Each command lives in translate/commands/ and delegates to the library; this file wires them
together and turns user errors into one red line. TensorFlow is imported only for the commands
that need it, so `--help`, a typo or `recipes list` answer at once.
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
from translate.commands import fit as fit_cmd
from translate.commands import import_ as import_cmd
from translate.commands import recipes as recipes_cmd
from translate.errors import UserError

app = typer.Typer(
    name="translate",
    help="Image-to-image translation (Pix2Pix, CycleGAN) on Keras 3 / TensorFlow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(datasets_cmd.app, name="datasets")
app.add_typer(recipes_cmd.app, name="recipes")
app.command()(fit_cmd.fit)
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
