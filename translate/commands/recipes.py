"""`translate recipes list|show`: the built-in training recipes and their resolved configs."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="List and show training recipes.", no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("list")
def recipes_list() -> None:
    """List the built-in recipes."""
    from rich.console import Console
    from rich.table import Table

    from translate.config import read_recipe, recipe_names

    table = Table("recipe", "model", "dataset", "description")
    for name in recipe_names():
        raw, _ = read_recipe(name)
        table.add_row(name, str((raw.get("model") or {}).get("kind", "")),
                      str((raw.get("data") or {}).get("dataset", "")), raw.get("description", ""))
    Console().print(table)


@app.command("show")
def recipes_show(
    recipe: str = typer.Argument(..., help="Recipe name or YAML file."),
    set_: list[str] = typer.Option(None, "--set", help="section.key=value overrides."),
) -> None:
    """Show a recipe's resolved config (every option, defaults filled in)."""
    import yaml

    from translate import import_tensorflow_quietly

    import_tensorflow_quietly()  # the model kinds' options classes live beside their Keras code
    from translate.config import parse_set, resolve_config, to_dict

    config = resolve_config(recipe=recipe, overrides=parse_set(set_ or []))
    typer.echo(yaml.safe_dump(to_dict(config), sort_keys=False).rstrip())
