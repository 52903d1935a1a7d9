"""Keras callbacks of a run: checkpoints, NaN guard, progress, sample grids, the losses plot."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import keras
import numpy as np

from translate.runs import RunDir


class NaNGuard(keras.callbacks.Callback):
    """Stop at the first non-finite loss, before any checkpoint of the bad weights is written."""

    def __init__(self):
        super().__init__()
        self.failed: str | None = None
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                self.failed = f"{'NaN' if math.isnan(value) else 'Inf'} ({key})"
                self.step = batch
                self.model.stop_training = True
                return


class CheckpointSaver(keras.callbacks.Callback):
    """Latest checkpoint at every epoch end, plus a kept copy every `every` epochs.

    tf.train.CheckpointManager writes the data files first and the index that names the latest
    checkpoint last, atomically, so a kill mid-write leaves the previous checkpoint as latest.
    """

    def __init__(self, checkpoint, latest_manager, run: RunDir, every: int, guard: NaNGuard):
        super().__init__()
        self.checkpoint, self.latest, self.every = checkpoint, latest_manager, every
        self.run, self.guard = run, guard

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.failed:
            return  # the NaN guard fired: keep the last good checkpoint
        self.latest.save()
        if (epoch + 1) % self.every == 0:
            self.checkpoint.write(str(self.run.epoch_checkpoint(epoch + 1)))


class SampleGrid(keras.callbacks.Callback):
    """samples/epoch_XXX.png: fixed held-out images, input | output | reconstruction or target."""

    def __init__(self, batch, run: RunDir, task, every: int = 1):
        super().__init__()
        self.batch, self.task, self.every, self.run = batch, task, every, run

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            rows, captions = self.model.sample_rows(self.batch, self.task)
            write_grid(rows, self.run.sample_grid(epoch + 1), captions)


class TensorBoardLog(keras.callbacks.Callback):
    """logs/: one event file for the whole run (Keras' TensorBoard callback opens a new one each
    `fit` call, and `translate fit` calls it once per epoch), each epoch's losses and learning
    rate, and the epoch's sample grid as an image."""

    def __init__(self, run: RunDir):
        super().__init__()
        self.run = run
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self.writer is None:
            self.writer = tf.summary.create_file_writer(str(self.run.logs / "train"))
        step = int(self.model.train_step_counter.numpy())
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, float(value))
            optimizer = self.model.optimizer  # the first of the model's optimizers (G's)
            if optimizer is not None:
                tf.summary.scalar("learning_rate", float(optimizer.learning_rate))
            grid = self.run.sample_grid(epoch + 1)
            if grid.is_file():
                image = tf.io.decode_png(tf.io.read_file(str(grid)), channels=3)
                tf.summary.image("samples", image[None], description=grid.name)
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def to_uint8_rgb(images) -> np.ndarray:
    """Photos (RGB or gray in [0, 1]) to uint8 RGB."""
    x = np.asarray(images, dtype=np.float32)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


GRID_MIN_CELL = 128  # small training crops (64 px) are enlarged, pixel for pixel, to be seen
CAPTION_HEIGHT = 18


def _caption_band(cells: list[np.ndarray], captions: list[str]) -> np.ndarray:
    """A white band with each column's caption above its cell."""
    import cv2

    band = np.full((CAPTION_HEIGHT, sum(c.shape[1] for c in cells), 3), 255, np.uint8)
    x = 0
    for cell, caption in zip(cells, captions, strict=True):
        cv2.putText(band, caption, (x + 4, CAPTION_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        x += cell.shape[1]
    return band


def write_grid(rows: list[list], path: Path, captions: list[list[str]] | None = None) -> None:
    """One row per sample, one column per image of the row; images resized to the row's tallest,
    small ones enlarged; a caption band above every row whose captions differ from the last's
    (so a CycleGAN grid says where its A rows end and its B rows begin)."""
    import cv2

    from translate.io_utils import atomic_write_bytes

    lines, shown = [], None
    for r, row in enumerate(rows):
        cells = [to_uint8_rgb(img) for img in row]
        h = max(c.shape[0] for c in cells)
        zoom = max(1, -(-GRID_MIN_CELL // h))
        cells = [
            cv2.resize(c, (c.shape[1] * h * zoom // c.shape[0], h * zoom),
                       interpolation=cv2.INTER_NEAREST)
            if c.shape[0] != h * zoom else c
            for c in cells
        ]
        if captions is not None and captions[r] != shown:
            shown = captions[r]
            lines.append(_caption_band(cells, shown))
        lines.append(np.concatenate(cells, axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0))) for line in lines]
    grid = np.concatenate(lines, axis=0)
    ok, data = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    atomic_write_bytes(path, data.tobytes())


class RunProgress(keras.callbacks.Callback):
    """A rich bar for the whole run (step, images/s, ETA; the losses on a line below it, so that
    CycleGAN's eight fit in 80 columns), one summary line per epoch.

    mode: "bar" (interactive), "quiet" (epoch lines only), "json" (JSON lines for scripts). A
    bar asked for on a console that is not a terminal (a pipe, a log file) prints as "quiet".
    """

    def __init__(self, total_steps, start_step, steps_per_epoch, batch_size, mode, console):
        super().__init__()
        self.total, self.done = total_steps, start_step
        self.steps_per_epoch, self.batch_size = steps_per_epoch, batch_size
        if mode == "bar" and not console.is_terminal:
            mode = "quiet"
        self.mode, self.console = mode, console
        self.progress = self.task = None
        self.epoch_start = self.epoch_steps = 0
        self.traced = False

    def on_train_begin(self, logs=None):
        if not self.traced and self.mode != "json":
            self.console.print(
                "tracing the train step: the first step takes longer", style="dim", markup=False
            )

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start, self.epoch_steps, self.epoch = time.perf_counter(), 0, epoch
        if self.mode == "bar" and self.progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            class WithLosses(Progress):
                def get_renderables(progress):  # noqa: N805 (Rich's hook; self is the callback)
                    yield progress.make_tasks_table(progress.tasks)
                    if self.losses:
                        yield Text(self.losses, style="dim", overflow="fold")

            self.losses = ""
            self.progress = WithLosses(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=16),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                "compiling", total=self.total, completed=self.done, rate=""
            )

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        self.epoch_steps += 1
        self.traced = True
        if self.progress is not None:
            seconds = time.perf_counter() - self.epoch_start
            rate = self.epoch_steps * self.batch_size / seconds if seconds > 0 else 0.0
            self.losses = "  ".join(f"{k} {float(v):.3f}" for k, v in sorted((logs or {}).items()))
            step = self.done % self.steps_per_epoch or self.steps_per_epoch
            self.progress.update(
                self.task,
                completed=self.done,
                rate=f"{rate:.1f} img/s",
                description=f"epoch {self.epoch + 1} step {step}",
            )

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.epoch_start
        images = self.epoch_steps * self.batch_size
        total_epochs = math.ceil(self.total / self.steps_per_epoch)
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.mode == "json":
            print(
                json_line(
                    epoch=epoch + 1,
                    step=self.done,
                    seconds=round(seconds, 3),
                    images_per_s=images / max(seconds, 1e-9),
                    **logs,
                ),
                flush=True,
            )
        else:
            line = summary_line(epoch, total_epochs, logs, seconds, images)
            console = self.progress.console if self.progress else self.console
            console.print(line, highlight=False, soft_wrap=True, markup=False)

    def close(self):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class MetricsCSV(keras.callbacks.Callback):
    """metrics.csv: one row per epoch (epoch, step, lr, each loss), appended across resumes.

    Keras' CSVLogger adds empty val_* columns when there is no validation; this one writes only
    what training logged.
    """

    def __init__(self, path: Path, guard: NaNGuard | None = None):
        super().__init__()
        self.path, self.guard = Path(path), guard

    @staticmethod
    def keep_epochs_up_to(path: Path, epoch: int) -> None:
        """On resume: drop rows of epochs after the checkpoint (written, then the run died)."""
        path = Path(path)
        if not path.is_file():
            return
        text = path.read_text()
        lines = [line + "\n" for line in text.splitlines()]  # one line ending, whatever was there
        kept = lines[:1] + [line for line in lines[1:] if int(line.split(",")[0]) <= epoch]
        if "".join(kept) != text:
            from translate.io_utils import atomic_write_text

            atomic_write_text(path, "".join(kept))

    def on_epoch_end(self, epoch, logs=None):
        if self.guard is not None and self.guard.failed:
            return  # an epoch the NaN guard stopped: no row, as there is no checkpoint
        row = {"epoch": epoch + 1, "step": int(self.model.train_step_counter.numpy())}
        row.update({k: float(v) for k, v in sorted((logs or {}).items())})
        new = not self.path.is_file()
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row), lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow(row)


class LossesPlot:
    """losses.png at the end of a run, from metrics.csv."""

    @staticmethod
    def write(csv_path: Path, png_path: Path) -> None:
        if not Path(csv_path).is_file():
            return
        with open(csv_path) as f:
            rows = list(csv.DictReader(f))
        if not rows:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = [k for k in rows[0] if k not in ("epoch", "step")]
        epochs = [int(r["epoch"]) for r in rows]
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for k in keys:
            ax.plot(
                epochs, [float(r[k] or "nan") for r in rows], label=k, marker="o" if len(rows) < 20 else None
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8, ncol=4)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(png_path, dpi=100)
        plt.close(fig)


def summary_line(epoch: int, total: int, logs: dict, seconds: float, images: int) -> str:
    """The one line printed per epoch."""
    losses = "  ".join(f"{k} {v:.3f}" for k, v in sorted(logs.items()) if _is_number(v))
    rate = images / seconds if seconds > 0 else math.nan
    return f"epoch {epoch + 1}/{total}  {losses}  {rate:.1f} img/s"


def json_line(**fields) -> str:
    return json.dumps({k: (float(v) if _is_number(v) else v) for k, v in fields.items()})


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False
