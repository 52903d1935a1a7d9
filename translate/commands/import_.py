"""`translate import CHECKPOINT.pth [MORE.pth] --model cyclegan|pix2pix|cut`: the PyTorch reference's
checkpoints (its own runs, or its published pretrained models) as a run directory."""

from __future__ import annotations

import typer


def import_(
    checkpoints: list[str] = typer.Argument(
        ..., help="The reference's .pth files: latest_net_G_A.pth latest_net_G_B.pth [D_A, D_B], "
        "latest_net_G.pth \\[latest_net_D.pth, CUT's latest_net_F.pth], or one published generator "
        "(horse2zebra.pth)."
    ),
    model: str = typer.Option(..., "--model", help="cyclegan, pix2pix or cut (the reference's "
                              "cycle_gan/test, pix2pix, or CUT's cut for CUT and FastCUT)."),
    net_g: str = typer.Option(None, "--netG", help="Generator architecture \\[the model's default]."),
    norm: str = typer.Option(None, "--norm", help="instance, batch or none \\[the model's default]."),
    direction: str = typer.Option(
        "AtoB", "--direction", help="pix2pix: as trained. A single CycleGAN generator: AtoB is "
        "G_A, BtoA is G_B."
    ),
    name: str = typer.Option(None, "--name", help="Run name \\[the checkpoints' folder name]."),
    project: str = typer.Option("runs", "--project", help="Folder of run directories."),
    data: str = typer.Option(None, "--data", help="Dataset to continue training on (fit --resume)."),
    set_: list[str] = typer.Option(None, "--set", help="Any other option: section.key=value."),
) -> None:
    """Turn reference checkpoints into a run: `translate import latest_net_G_A.pth
    latest_net_G_B.pth --model cyclegan`, then `translate apply runs/<name>-1 photos/ out/`."""
    from rich.console import Console
    from rich.markup import escape

    from translate.config import parse_set
    from translate.reference.checkpoints import import_checkpoints
    from translate.runs import load_run

    run_dir = import_checkpoints(
        checkpoints, kind=model, netG=net_g, norm=norm, direction=direction, name=name,
        project=project, data=data, overrides=parse_set(set_ or []),
    )
    run = load_run(run_dir)
    m = run.config.model
    console = Console()
    console.print(
        f"imported {escape(str(run_dir))}: {m.kind} {m.netG} (norm {m.norm}, dropout "
        f"{m.dropout}), directions {', '.join(run.directions())}", highlight=False, soft_wrap=True,
    )
    console.print(
        f"  translate apply {escape(str(run_dir))} photos/ out/   |   translate export "
        f"{escape(str(run_dir))} serving/", highlight=False, soft_wrap=True,
    )
