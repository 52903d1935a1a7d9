"""`translate datasets list|fetch|info`."""

from __future__ import annotations

import typer

from translate.errors import UserError

app = typer.Typer(help="List, fetch and inspect datasets.", no_args_is_help=True)


@app.command("list")
def datasets_list() -> None:
    """List the known datasets and whether they are cached."""
    raise UserError("`translate datasets list` is not available yet in this version.")
