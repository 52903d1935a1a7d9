"""`translate datasets list|fetch|info`: the dataset cards, the cache, and what a folder holds."""

from __future__ import annotations

import typer
from rich.markup import escape

from translate.errors import UserError

app = typer.Typer(
    help="List, fetch and inspect datasets.", no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _human(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _disk_size(path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _card(name: str):
    from translate.data.cards import builtin_cards, get_card, read_card_file

    if name.endswith((".yaml", ".yml")):
        return read_card_file(name)
    card = get_card(name)
    if card is None:
        raise UserError(
            f"unknown dataset {name!r}; known datasets: {', '.join(builtin_cards())}"
        )
    return card


@app.command("list")
def datasets_list() -> None:
    """List the known datasets (name, layout, size) and whether they are cached.

    `translate datasets info NAME` shows a dataset's description, url and checksum.
    """
    from rich.console import Console
    from rich.table import Table

    from translate.data.cards import builtin_cards, cache_dir

    table = Table()
    for column in ("name", "layout", "task", "size", "cached"):
        table.add_column(column, no_wrap=True)
    for card in builtin_cards().values():
        size = "generated" if card.generator else _human(card.size)
        cached = f"yes ({_human(_disk_size(card.cache_path))})" if card.is_cached else "no"
        table.add_row(card.name, card.layout, card.task, size, cached)
    console = Console()
    console.print(table)
    console.print(f"cache: {cache_dir() / 'datasets'} (set TRANSLATE_HOME to move it)",
                  highlight=False, markup=False)


@app.command("fetch")
def datasets_fetch(
    name: str = typer.Argument(..., help="Dataset name (see `translate datasets list`) or card .yaml."),
    force: bool = typer.Option(False, "--force", help="Fetch again even if cached."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Download (resuming, checksum-verified) and extract a dataset into the cache."""
    from translate.data.sources import fetch

    card = _card(name)
    path = fetch(card, force=force, progress=progress)
    typer.echo(f"{card.name}: {path}")


@app.command("info")
def datasets_info(
    dataset: str = typer.Argument(..., help="Dataset name, card .yaml or folder."),
    layout: str = typer.Option("auto", "--layout", help="auto|unaligned|aligned|single"),
) -> None:
    """Counts per split, image sizes and problems found (unreadable files, unpaired names)."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from translate.data.sources import resolve_dataset, size_summary

    console = Console()
    if not Path(dataset).expanduser().is_dir():
        card = _card(dataset)
        if not card.is_cached and not card.generator:
            console.print(f"[bold]{escape(card.name)}[/bold] "
                          + escape(f"({card.layout}, {card.task}): {card.description}"),
                          highlight=False)
            console.print(f"url: {', '.join(card.urls)}\nsha256: {card.sha256 or 'not published'}"
                          f"\nnot cached: `translate datasets fetch {card.name}`",
                          highlight=False, markup=False)
            return
    spec = resolve_dataset(dataset, layout=layout)
    console.print(f"[bold]{escape(spec.name)}[/bold]: "
                  + escape(f"{spec.root} (layout {spec.layout})"), highlight=False)
    if spec.card is not None:
        console.print(f"{spec.card.description} ({spec.card.task}, suggested direction "
                      f"{spec.card.direction})", highlight=False, markup=False)
    table = Table("split", "domain", "images", "sizes", "skipped")
    problems = list(spec.problems)
    for split in spec.splits:
        try:
            checked = spec.checked(split)
        except UserError as exc:
            problems.append(str(exc))
            continue
        for i, (domain, infos) in enumerate(checked.domains.items()):
            table.add_row(split if i == 0 else "", domain, str(len(infos)), size_summary(infos),
                          str(len(checked.skipped)) if i == 0 else "")
        problems += [f"{path}: {reason}" for path, reason in checked.skipped]
        if spec.layout == "aligned" and "AB" in checked.domains:
            odd = [i.path for i in checked.domains["AB"] if i.width % 2]
            problems += [f"{p}: odd width, cannot be split into A|B halves" for p in odd]
    console.print(table)
    console.print("problems: none" if not problems else "problems:", highlight=False)
    for problem in problems:
        console.print(f"  {problem}", highlight=False, soft_wrap=True, markup=False)
