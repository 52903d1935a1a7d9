"""Training: the strategy, the run directory, Keras callbacks, and `model.fit` over epochs.

Everything a run needs to continue exactly is in its checkpoint: the networks, both optimizers
(and with them the learning-rate schedule position, which is a function of their step), image
pools and random-generator states. The data order is a pure function of (seed, epoch), so a resumed
run sees the same batches as one that never stopped: epoch e shuffles with seed (seed, e) and a
run resumed mid-epoch skips the batches it already trained on.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from pathlib import Path

from translate.errors import UserError
from translate.runs import CONFIG_FILE, EPOCHS_DIR, LATEST_DIR, new_run_dir


def make_strategy(name: str = "auto"):
    """The tf.distribute strategy for `--strategy`; create it before any other TF op."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        # One device: TF's default strategy, which places ops on the GPU when there is one.
        # OneDeviceStrategy made each step of `fit` 1.5x slower on a 2-core CPU (BENCHMARKS.md).
        return tf.distribute.get_strategy()
    if name == "cpu":  # GPUs hidden rather than OneDeviceStrategy, for the same reason
        tf.config.set_visible_devices([], "GPU")
        return tf.distribute.get_strategy()
    if name == "gpu":
        if not gpus:
            raise UserError("--strategy gpu: no GPU is visible to TensorFlow; use --strategy cpu")
        return tf.distribute.get_strategy()
    if name == "mirrored":
        cpus = int(os.environ.get("TRANSLATE_LOGICAL_CPUS", "0"))
        if not gpus and cpus > 1:  # replicas on one CPU: tests and dry runs of a multi-GPU job
            devices = tf.config.list_physical_devices("CPU")
            tf.config.set_logical_device_configuration(
                devices[0], [tf.config.LogicalDeviceConfiguration()] * cpus
            )
            return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpus)])
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise UserError("--strategy multi-worker needs TF_CONFIG set (see docs/distributed.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise UserError(
        f"unknown --strategy {name!r}; choose auto, cpu, gpu, mirrored, multi-worker, tpu"
    )


def worker_role(strategy) -> tuple[bool, int]:
    """(is this process the chief, its worker index). Single-process strategies: the chief.

    As the TF multi-worker guide: the `chief` task if the cluster has one, else worker 0.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if not cluster or resolver.task_type is None:
        return True, 0
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    if task_type == "chief":
        return True, 0
    return task_type == "worker" and task_id == 0 and "chief" not in cluster, task_id


def scale_for_replicas(config, replicas: int):
    """The config as run on `replicas` replicas: global batch, learning rate, batch norm.

    data.batch_size is the global batch unless runtime.batch_per_replica; runtime.scale_lr
    "linear" multiplies the lr by global batch / data.batch_size (linear scaling rule).
    """
    data, train, model = config.data, config.train, config.model
    global_batch = data.batch_size * (replicas if config.runtime.batch_per_replica else 1)
    if global_batch % replicas:
        raise UserError(
            f"data.batch_size={global_batch} does not split over {replicas} replicas; use a "
            f"multiple of {replicas} or --set runtime.batch_per_replica=true"
        )
    lr = train.lr * (global_batch / data.batch_size if config.runtime.scale_lr == "linear" else 1)
    norm = "sync_batch" if config.runtime.sync_batch_norm and model.norm == "batch" else model.norm
    return dataclasses.replace(
        config,
        data=dataclasses.replace(data, batch_size=global_batch),
        train=dataclasses.replace(train, lr=lr),
        model=dataclasses.replace(model, norm=norm),
    )


def count_steps_per_epoch(spec, config) -> int:
    """Batches in one epoch: the larger domain for unpaired data, as the reference's len()."""
    if config.train.steps_per_epoch:
        return int(config.train.steps_per_epoch)
    from translate.data import count_examples

    n = count_examples(spec, "train", config.data)
    if n == 0:
        raise UserError(f"dataset {spec.root}: the train split has no images")
    return max(1, n // config.data.batch_size)


class _Position:
    """Where training is: the optimizer's step count is the truth, epochs follow from it."""

    def __init__(self, model, steps_per_epoch: int):
        self.model, self.steps_per_epoch = model, steps_per_epoch

    @property
    def step(self) -> int:
        return int(self.model.train_step_counter.numpy())

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    @property
    def step_in_epoch(self) -> int:
        return self.step % self.steps_per_epoch


def _train_dataset(spec, config, task, epoch: int, skip: int, steps: int):
    """Epoch `epoch`'s batches (seeded by (seed, epoch)), less the first `skip` already trained."""
    import tensorflow as tf

    from translate.data import make_dataset

    seed = config.runtime.seed * 100_003 + epoch
    ds = make_dataset(
        spec, split="train", config=config.data, seed=seed, shuffle=True, repeat=True, skip=skip
    )
    if task.makes_own_pairs:
        ds = ds.map(lambda x: task.make_pair((x + 1.0) * 0.5), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.take(steps - skip).prefetch(tf.data.AUTOTUNE)


def _sample_batch(spec, config, task):
    """A fixed held-out batch for sample grids: the first test images, no augmentation."""
    import tensorflow as tf

    from translate.data import make_dataset

    data = dataclasses.replace(
        config.data,
        flip=False,
        rotate=False,
        crops_per_image=1,
        augment=[],
        preprocess="resize_and_crop",
        load_size=config.data.crop_size,
        batch_size=config.train.num_samples,
    )
    split = "test" if spec.has_split("test") else "train"
    ds = make_dataset(spec, split=split, config=data, seed=0, shuffle=False, repeat=False)
    batch = next(iter(ds.take(1)))
    if task.makes_own_pairs:
        batch = task.make_pair((batch + 1.0) * 0.5)
    return tuple(tf.convert_to_tensor(t) for t in batch)


def _work_around_keras_multi_worker(model) -> None:
    """Two Keras 3.15 bugs under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    1. Before the first epoch, `fit` takes a batch and all-reduces it only to build the model
       symbolically; with collective ops that reduce fails on a tuple of image batches. Our
       models are built, with their optimizers, in `compile()`: skip that build.
    2. `fit` reduces each logged value with `strategy.reduce("MEAN", v, axis=0)`, which fails on
       the scalar losses every train_step returns. Logged as shape [1] per replica, the same
       reduce gives the mean over replicas, a scalar again.
    The models stay untouched: both patches are on this instance, under this strategy only.
    """
    import tensorflow as tf

    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    train_step = model.train_step
    model.train_step = lambda data: {
        name: tf.reshape(value, [1]) for name, value in train_step(data).items()
    }


def _run_dirs(config, resume, chief: bool, worker_id: int, multi_worker: bool):
    """(run directory, where this process writes, whether to resume).

    Multi-worker: the run directory is `project/name`, the same on every worker, and a job
    restarted by its launcher with the same command continues from its checkpoint (the
    BackupAndRestore semantics). Only the chief writes there; the other workers write their
    (identical) checkpoints into a scratch folder of their own, as the TF guide requires.
    """
    if resume:
        run_dir = Path(resume)
    elif multi_worker:
        run_dir = Path(config.runtime.project) / config.name
        resume = (run_dir / LATEST_DIR / "checkpoint").is_file()
    else:
        run_dir = new_run_dir(config.runtime.project, config.name)
    write_dir = run_dir if chief else run_dir / f".worker-{worker_id}"
    write_dir.mkdir(parents=True, exist_ok=True)
    return run_dir, write_dir, bool(resume)


def _remove_interrupted_saves(write_dir: Path) -> None:
    """A kill during a save leaves `ckpt-N_temp/` shards that no checkpoint names: drop them."""
    for folder in (write_dir / "checkpoints").glob("**/*_temp"):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def fit(
    config,
    resume: str | Path | None = None,
    progress: str = "bar",
    console=None,
) -> Path:
    """Train `config` into a new run directory (or continue `resume`); return the run directory."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console(stderr=True)
    strategy = make_strategy(config.runtime.strategy)  # before any other TF op

    import keras
    import tensorflow as tf

    from translate.callbacks import (
        CheckpointSaver,
        LossesPlot,
        MetricsCSV,
        NaNGuard,
        RunProgress,
        SampleGrid,
        TensorBoardLog,
    )
    from translate.config import save_config
    from translate.data import resolve_dataset
    from translate.models import build_model
    from translate.tasks import get_task

    chief, worker_id = worker_role(strategy)
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    keras.utils.set_random_seed(config.runtime.seed)
    if config.runtime.precision != "float32":
        keras.mixed_precision.set_global_policy(config.runtime.precision)

    task = get_task(config.task)
    paired = config.model.kind == "pix2pix" and not task.makes_own_pairs
    spec = resolve_dataset(config.data.dataset, layout=config.data.layout, paired=paired)
    if paired and spec.layout == "unaligned":
        raise UserError(
            f"pix2pix needs paired images, but {spec.root} is unaligned (trainA/, trainB/); give "
            "train/ with A|B side-by-side images or A/ and B/ folders with matching names, "
            "or train cyclegan"
        )
    run_dir, write_dir, resume = _run_dirs(config, resume, chief, worker_id, multi_worker)
    if chief and not (run_dir / CONFIG_FILE).is_file():
        save_config(config, run_dir / CONFIG_FILE)
    config = scale_for_replicas(config, strategy.num_replicas_in_sync)
    steps_per_epoch = count_steps_per_epoch(spec, config)
    total_epochs = config.train.epochs + config.train.epochs_decay

    with strategy.scope():
        model = build_model(
            config.model, config.train, steps_per_epoch=steps_per_epoch, scale=task.scale
        )
        model.compile(
            train_config=config.train,
            jit_compile=config.runtime.jit,
            steps_per_execution=config.runtime.steps_per_execution,
        )
    if multi_worker:
        _work_around_keras_multi_worker(model)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    _remove_interrupted_saves(write_dir)
    latest = tf.train.CheckpointManager(checkpoint, str(write_dir / LATEST_DIR), max_to_keep=1)
    if resume:
        found = tf.train.latest_checkpoint(str(run_dir / LATEST_DIR))
        if found is not None:
            checkpoint.restore(found).assert_existing_objects_matched()
        else:  # stopped before its first checkpoint: nothing to lose, start it over in place
            console.print(
                f"{run_dir}: no checkpoint yet (stopped during its first epoch); starting it "
                "from the beginning",
                markup=False,
                soft_wrap=True,
            )
    position = _Position(model, steps_per_epoch)
    if position.epoch >= total_epochs:
        console.print(
            f"{run_dir} already finished its {total_epochs} epochs; to train on, give more: "
            f"translate fit --resume {run_dir} --epochs N [--epochs-decay M]",
            markup=False,
            soft_wrap=True,
        )
        return run_dir

    guard = NaNGuard()
    bar = RunProgress(
        total_steps=total_epochs * steps_per_epoch,
        start_step=position.step,
        steps_per_epoch=steps_per_epoch,
        batch_size=config.data.batch_size,
        mode=progress if chief else "quiet",
        console=console,
    )
    callbacks = [guard]
    if chief:  # the epoch's row before its checkpoint: a resume drops rows past the checkpoint
        MetricsCSV.keep_epochs_up_to(run_dir / "metrics.csv", position.epoch)
        samples = _sample_batch(spec, config, task)
        callbacks += [
            MetricsCSV(run_dir / "metrics.csv", guard),
            SampleGrid(samples, run_dir / "samples", task, every=config.train.sample_every),
            TensorBoardLog(run_dir / "logs", run_dir / "samples"),  # after the grid is written
        ]
    callbacks.append(
        CheckpointSaver(
            checkpoint, latest, write_dir / EPOCHS_DIR, config.train.save_every, guard
        )
    )
    callbacks.append(bar)
    console.print(
        f"[bold]{escape(config.name)}[/bold]: "
        + escape(
            f"{config.model.kind} {config.model.netG}, {spec.name} ({spec.layout}), "
            f"{steps_per_epoch} steps x {total_epochs} epochs, batch {config.data.batch_size} "
            f"on {strategy.num_replicas_in_sync} replica(s) -> {run_dir}"
        ),
        highlight=False,
        soft_wrap=True,
    )
    try:
        while position.epoch < total_epochs and not guard.failed:
            epoch, skip = position.epoch, position.step_in_epoch
            ds = _train_dataset(spec, config, task, epoch, skip, steps_per_epoch)
            model.fit(
                ds,
                epochs=epoch + 1,
                initial_epoch=epoch,
                steps_per_epoch=steps_per_epoch - skip,
                callbacks=callbacks,
                shuffle=False,  # the dataset is shuffled, seeded per epoch
                verbose=0,
            )
    except KeyboardInterrupt:
        bar.close()
        if not guard.failed:
            latest.save(checkpoint_number=position.step)
        console.print(
            f"[yellow]interrupted[/yellow] at step {position.step}; resume with:\n"
            f"  translate fit --resume {escape(str(run_dir))}",
            highlight=False,
        )
        raise SystemExit(130) from None
    finally:
        bar.close()
        for callback in callbacks:
            if isinstance(callback, TensorBoardLog):
                callback.close()
    if guard.failed:
        raise UserError(
            f"losses became {guard.failed} at step {guard.step}; stopped, the last good checkpoint "
            f"is kept in {run_dir / LATEST_DIR} (try a lower --lr, or --precision float32)"
        )
    if not chief and not os.environ.get("TRANSLATE_KEEP_WORKER_DIRS"):
        shutil.rmtree(write_dir, ignore_errors=True)  # scratch, as the multi-worker guide asks
        return run_dir
    LossesPlot.write(run_dir / "metrics.csv", run_dir / "losses.png")
    from translate.model_card import write_run_card

    write_run_card(run_dir)
    console.print(
        f"done: {run_dir}  (samples in {run_dir / 'samples'})", highlight=False, markup=False,
        soft_wrap=True,
    )
    return run_dir


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


__all__ = ["count_steps_per_epoch", "fit", "make_strategy"]
