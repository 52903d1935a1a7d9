"""Training: the strategy, the run directory, Keras callbacks, and `model.fit` over epochs.

Everything a run needs to continue exactly is in its checkpoint: the networks, both optimizers
(and with them the learning-rate schedule position, which is a function of their step), image
pools and random-generator states. The data order is a pure function of (seed, epoch), so a resumed
run sees the same batches as one that never stopped: epoch e shuffles with seed (seed, e) and a
run resumed mid-epoch skips the batches it already trained on.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from translate.errors import UserError
from translate.runs import RunDir, new_run_dir


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
    ds = ds.map(model_space(task), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.take(steps - skip).prefetch(tf.data.AUTOTUNE)


def model_space(task):
    """The pipeline's photos ([0, 1]) to what the model trains on, by the task's conversions:
    pairs it makes itself from single photos, or (input, target) pairs of the data."""
    if task.makes_own_pairs:
        return task.make_pair
    return lambda a, b: (task.to_model(a), task.target_to_model(b))


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
    batch = next(iter(ds.map(model_space(task)).take(1)))
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


@dataclass
class FitJob:
    """What the steps of `fit` share: the resolved job and where it writes."""

    config: object  # the Config, batch scaled for the replicas
    strategy: object
    task: object
    spec: object  # the DatasetSpec
    run: RunDir  # the run directory
    write: RunDir  # where this process writes: the run, or a worker's scratch copy
    chief: bool
    resume: bool
    steps_per_epoch: int

    @property
    def total_epochs(self) -> int:
        return self.config.train.epochs + self.config.train.epochs_decay


def fit(
    config,
    resume: str | Path | None = None,
    progress: str = "bar",
    console=None,
) -> Path:
    """Train `config` into a new run directory (or continue `resume`); return the run directory."""
    from rich.console import Console

    console = console or Console(stderr=True)
    strategy = make_strategy(config.runtime.strategy)  # before any other TF op
    job = prepare_run(config, resume, strategy)
    model, checkpoint, latest = build_and_restore(job, console)
    position = _Position(model, job.steps_per_epoch)
    if position.epoch >= job.total_epochs:
        console.print(
            f"{job.run.root} already finished its {job.total_epochs} epochs; to train on, give "
            f"more: translate fit --resume {job.run.root} --epochs N [--epochs-decay M]",
            markup=False,
            soft_wrap=True,
        )
        return job.run.root
    callbacks = make_callbacks(job, checkpoint, latest, position, progress, console)
    train_epochs(job, model, callbacks, checkpoint, latest, position, console)
    return finish_run(job, console)


def prepare_run(config, resume, strategy) -> FitJob:
    """Seeds and precision, the task and the dataset (checked against the model kind), the run
    directory (new, resumed, or the multi-worker one) with its config saved."""
    import keras
    import tensorflow as tf

    from translate.config import save_config
    from translate.data import resolve_dataset
    from translate.models import model_class
    from translate.tasks import get_task

    chief, worker_id = worker_role(strategy)
    keras.utils.set_random_seed(config.runtime.seed)
    if config.runtime.precision != "float32":
        keras.mixed_precision.set_global_policy(config.runtime.precision)

    task = get_task(config.task)
    paired = model_class(config.model.kind).paired and not task.makes_own_pairs
    spec = resolve_dataset(config.data.dataset, layout=config.data.layout, paired=paired)
    if paired and spec.layout == "unaligned":
        raise UserError(
            f"{config.model.kind} needs paired images, but {spec.root} is unaligned (trainA/, "
            "trainB/); give train/ with A|B side-by-side images or A/ and B/ folders with "
            "matching names, or train a model for unpaired data"
        )
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    run, write, resume = _run_dirs(config, resume, chief, worker_id, multi_worker)
    if chief and not run.config.is_file():
        save_config(config, run.config)
    config = scale_for_replicas(config, strategy.num_replicas_in_sync)
    return FitJob(
        config=config, strategy=strategy, task=task, spec=spec, run=run, write=write,
        chief=chief, resume=resume, steps_per_epoch=count_steps_per_epoch(spec, config),
    )


def _run_dirs(config, resume, chief: bool, worker_id: int, multi_worker: bool):
    """(run directory, where this process writes, whether to resume).

    Multi-worker: the run directory is `project/name`, the same on every worker, and a job
    restarted by its launcher with the same command continues from its checkpoint (the
    BackupAndRestore semantics). Only the chief writes there; the other workers write their
    (identical) checkpoints into a scratch folder of their own, as the TF guide requires.
    """
    if resume:
        run = RunDir(resume)
    elif multi_worker:
        run = RunDir(Path(config.runtime.project) / config.name)
        resume = (run.latest / "checkpoint").is_file()
    else:
        run = RunDir(new_run_dir(config.runtime.project, config.name))
    write = run if chief else run.worker(worker_id)
    write.root.mkdir(parents=True, exist_ok=True)
    return run, write, bool(resume)


def build_and_restore(job: FitJob, console):
    """The model, compiled inside the strategy's scope, and its checkpoint restored when the
    run resumes; returns (model, checkpoint, manager of the latest checkpoint)."""
    import tensorflow as tf

    from translate.models import build_model

    config = job.config
    with job.strategy.scope():
        model = build_model(
            config.model, config.train, steps_per_epoch=job.steps_per_epoch, scale=job.task.scale
        )
        model.compile(
            train_config=config.train,
            jit_compile=config.runtime.jit,
            steps_per_execution=config.runtime.steps_per_execution,
        )
    if isinstance(job.strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _work_around_keras_multi_worker(model)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    _remove_interrupted_saves(job.write)
    latest = tf.train.CheckpointManager(checkpoint, str(job.write.latest), max_to_keep=1)
    if job.resume:
        found = tf.train.latest_checkpoint(str(job.run.latest))
        if found is not None:
            checkpoint.restore(found).assert_existing_objects_matched()
        else:  # stopped before its first checkpoint: nothing to lose, start it over in place
            console.print(
                f"{job.run.root}: no checkpoint yet (stopped during its first epoch); starting "
                "it from the beginning",
                markup=False,
                soft_wrap=True,
            )
    return model, checkpoint, latest


def _remove_interrupted_saves(write: RunDir) -> None:
    """A kill during a save leaves `ckpt-N_temp/` shards that no checkpoint names: drop them."""
    for folder in write.checkpoints.glob("**/*_temp"):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def make_callbacks(job: FitJob, checkpoint, latest, position, progress: str, console) -> list:
    """NaN guard first; on the chief, metrics, sample grid and TensorBoard (the epoch's row
    before its checkpoint: a resume drops rows past the checkpoint); checkpoints; the bar."""
    from translate.callbacks import (
        CheckpointSaver,
        MetricsCSV,
        NaNGuard,
        RunProgress,
        SampleGrid,
        TensorBoardLog,
    )

    config = job.config
    guard = NaNGuard()
    callbacks = [guard]
    if job.chief:
        MetricsCSV.keep_epochs_up_to(job.run.metrics, position.epoch)
        samples = _sample_batch(job.spec, config, job.task)
        callbacks += [
            MetricsCSV(job.run.metrics, guard),
            SampleGrid(samples, job.run, job.task, every=config.train.sample_every),
            TensorBoardLog(job.run),  # after the grid is written
        ]
    callbacks.append(CheckpointSaver(checkpoint, latest, job.write, config.train.save_every, guard))
    callbacks.append(RunProgress(
        total_steps=job.total_epochs * job.steps_per_epoch,
        start_step=position.step,
        steps_per_epoch=job.steps_per_epoch,
        batch_size=config.data.batch_size,
        mode=progress if job.chief else "quiet",
        console=console,
    ))
    return callbacks


def train_epochs(job: FitJob, model, callbacks, checkpoint, latest, position, console) -> None:
    """`model.fit` one epoch at a time, each on its own seeded data, from where the run stands.
    Ctrl-C saves the exact step and exits 130 with the resume command; NaN losses stop it."""
    from rich.markup import escape

    from translate.callbacks import NaNGuard, RunProgress, TensorBoardLog

    config = job.config
    guard = next(c for c in callbacks if isinstance(c, NaNGuard))
    bar = next(c for c in callbacks if isinstance(c, RunProgress))
    console.print(
        f"[bold]{escape(config.name)}[/bold]: "
        + escape(
            f"{config.model.kind} {config.model.netG}, {job.spec.name} ({job.spec.layout}), "
            f"{job.steps_per_epoch} steps x {job.total_epochs} epochs, batch "
            f"{config.data.batch_size} on {job.strategy.num_replicas_in_sync} replica(s) -> "
            f"{job.run.root}"
        ),
        highlight=False,
        soft_wrap=True,
    )
    try:
        while position.epoch < job.total_epochs and not guard.failed:
            epoch, skip = position.epoch, position.step_in_epoch
            ds = _train_dataset(job.spec, config, job.task, epoch, skip, job.steps_per_epoch)
            model.fit(
                ds,
                epochs=epoch + 1,
                initial_epoch=epoch,
                steps_per_epoch=job.steps_per_epoch - skip,
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
            f"  translate fit --resume {escape(str(job.run.root))}",
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
            f"is kept in {job.run.latest} (try a lower --lr, or --precision float32)"
        )


def finish_run(job: FitJob, console) -> Path:
    """The losses plot and the model card; a worker's scratch folder removed."""
    from translate.callbacks import LossesPlot
    from translate.model_card import write_run_card

    if not job.chief:
        if not os.environ.get("TRANSLATE_KEEP_WORKER_DIRS"):
            shutil.rmtree(job.write.root, ignore_errors=True)  # scratch, as the guide asks
        return job.run.root
    LossesPlot.write(job.run.metrics, job.run.losses_plot)
    write_run_card(job.run.root)
    console.print(
        f"done: {job.run.root}  (samples in {job.run.samples})", highlight=False, markup=False,
        soft_wrap=True,
    )
    return job.run.root


__all__ = ["count_steps_per_epoch", "fit", "make_strategy"]
