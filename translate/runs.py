"""Run directories: made by `translate fit`, read back by apply, export and evaluate.

runs/<name>-<n>/config.yaml      the resolved Config
runs/<name>-<n>/checkpoints/     latest/ (every epoch, Ctrl-C) and epoch-K (every K epochs)
runs/<name>-<n>/imported.yaml    only in runs made by `translate import`: which networks came from
                                 which reference checkpoint, and the directions that have a generator
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from translate.data.config import DIRECTIONS
from translate.errors import UserError

CONFIG_FILE = "config.yaml"
LATEST_DIR = "checkpoints/latest"
EPOCHS_DIR = "checkpoints/epochs"
IMPORTED_FILE = "imported.yaml"


def new_run_dir(project: str | Path, name: str) -> Path:
    """runs/<name>-<n> with the first free n; never reuses (so never overwrites) an earlier run."""
    project = Path(project)
    project.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        path = project / f"{name}-{n}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


def is_run_dir(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


def checkpoint_path(run_dir: str | Path, epoch: int | None = None) -> str:
    """The checkpoint prefix for the latest state, or for the end of epoch K."""
    import tensorflow as tf

    run_dir = Path(run_dir)
    if epoch is None:
        path = tf.train.latest_checkpoint(str(run_dir / LATEST_DIR))
        if path is None:
            raise UserError(f"{run_dir} has no checkpoint yet; train it with `translate fit` first")
        return path
    prefix = run_dir / EPOCHS_DIR / f"epoch-{epoch}"
    if not Path(f"{prefix}.index").is_file():
        kept = sorted(int(p.name[6:-6]) for p in (run_dir / EPOCHS_DIR).glob("epoch-*.index"))
        raise UserError(
            f"{run_dir} has no checkpoint for epoch {epoch}; kept epochs: "
            f"{', '.join(map(str, kept)) or 'none'} (or omit --epoch for the latest)"
        )
    return str(prefix)


@dataclass
class LoadedRun:
    """A trained run: its config, its restored model and its task."""

    path: Path
    config: object
    model: object
    task: object

    def directions(self) -> list[str]:
        """The directions this run can translate: CycleGAN both, Pix2Pix AtoB; an imported run
        only those whose generator was imported."""
        directions = ["AtoB", "BtoA"] if self.config.model.kind == "cyclegan" else ["AtoB"]
        imported = self.path / IMPORTED_FILE
        if imported.is_file():
            import yaml

            kept = (yaml.safe_load(imported.read_text()) or {}).get("directions") or []
            directions = [d for d in directions if d in kept]
        return directions

    def generator(self, direction: str = "AtoB"):
        """The bare Keras generator for a direction (CycleGAN has two; Pix2Pix only AtoB)."""
        if direction not in DIRECTIONS:
            raise UserError(f"--direction must be AtoB or BtoA (got {direction!r})")
        if direction not in self.directions():
            if self.config.model.kind != "cyclegan":
                raise UserError(
                    f"{self.path} is a {self.config.model.kind} run with one direction; "
                    "drop --direction BtoA"
                )
            raise UserError(
                f"{self.path} was imported without the {direction} generator; use --direction "
                f"{self.directions()[0]} or import it again with both *_net_G_A.pth and *_net_G_B.pth"
            )
        return self.model.generator_for(direction)


def load_run(path: str | Path, epoch: int | None = None) -> LoadedRun:
    """Rebuild a run's model from its config and restore the networks' weights."""
    import tensorflow as tf

    from translate.config import load_config
    from translate.models import build_model
    from translate.tasks import get_task

    path = Path(path)
    if not is_run_dir(path):
        raise UserError(f"{path} is not a run directory (no {CONFIG_FILE}); give runs/<name>-<n>")
    config = load_config(path / CONFIG_FILE)
    prefix = checkpoint_path(path, epoch)
    task = get_task(config.task)
    model = build_model(config.model, train_config=config.train, steps_per_epoch=1, scale=task.scale)
    items = {k: v for k, v in model.checkpoint_items().items() if not k.startswith("optimizer")}
    tf.train.Checkpoint(**items).restore(prefix).expect_partial()
    return LoadedRun(path=path, config=config, model=model, task=task)
