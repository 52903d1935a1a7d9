"""Run directories: made by `translate fit`, read back by apply, export and evaluate.

RunDir names every path of one (docs/architecture.md shows the layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from translate.data.config import DIRECTIONS
from translate.errors import UserError

CONFIG_FILE = "config.yaml"  # its presence makes a folder a run directory


@dataclass(frozen=True)
class RunDir:
    """The paths of a run directory, each named once."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:  # the resolved Config
        return self.root / CONFIG_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:  # every epoch's end and Ctrl-C (tf.train.CheckpointManager)
        return self.checkpoints / "latest"

    @property
    def epochs(self) -> Path:  # epoch-K every K epochs (train.save_every)
        return self.checkpoints / "epochs"

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.epochs / f"epoch-{epoch}"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def sample_grid(self, epoch: int) -> Path:  # epoch counted from 1
        return self.samples / f"epoch_{epoch:03d}.png"

    @property
    def logs(self) -> Path:  # TensorBoard
        return self.root / "logs"

    @property
    def metrics(self) -> Path:  # one row per epoch
        return self.root / "metrics.csv"

    @property
    def losses_plot(self) -> Path:
        return self.root / "losses.png"

    @property
    def evaluations(self) -> Path:  # `translate evaluate` reports
        return self.root / "eval"

    @property
    def card(self) -> Path:  # the model card
        from translate.model_card import CARD_FILE

        return self.root / CARD_FILE

    @property
    def imported(self) -> Path:  # only from `translate import`: source .pth files, directions
        return self.root / "imported.yaml"

    def worker(self, worker_id: int) -> RunDir:
        """A non-chief worker's scratch copy (multi-worker training)."""
        return RunDir(self.root / f".worker-{worker_id}")


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

    run = RunDir(run_dir)
    if epoch is None:
        path = tf.train.latest_checkpoint(str(run.latest))
        if path is None:
            raise UserError(f"{run_dir} has no checkpoint yet; train it with `translate fit` first")
        return path
    prefix = run.epoch_checkpoint(epoch)
    if not Path(f"{prefix}.index").is_file():
        kept = sorted(int(p.name[6:-6]) for p in run.epochs.glob("epoch-*.index"))
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
        from translate.models import model_class

        directions = list(model_class(self.config.model.kind).directions)
        imported = RunDir(self.path).imported
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
            if len(self.model.directions) == 1:
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
    config = load_config(RunDir(path).config)
    prefix = checkpoint_path(path, epoch)
    task = get_task(config.task)
    model = build_model(config.model, train_config=config.train, steps_per_epoch=1, scale=task.scale)
    items = {k: v for k, v in model.checkpoint_items().items() if not k.startswith("optimizer")}
    tf.train.Checkpoint(**items).restore(prefix).expect_partial()
    return LoadedRun(path=path, config=config, model=model, task=task)
