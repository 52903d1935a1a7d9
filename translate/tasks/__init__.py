"""Tasks: the pre/post-processing around a generator, chosen by name in the recipe."""

from __future__ import annotations

from translate.errors import UserError
from translate.tasks.base import Task, TaskConfig, TranslationTask
from translate.tasks.colorization import ColorizationTask
from translate.tasks.superres import DEGRADATIONS, SCALES, SuperResolutionTask

TASK_CLASSES = {
    "translation": TranslationTask,
    "colorization": ColorizationTask,
    "superres": SuperResolutionTask,
}
TASKS = {  # name -> Task from the recipe's task section
    "translation": lambda cfg: TranslationTask(),
    "colorization": lambda cfg: ColorizationTask(),
    "superres": SuperResolutionTask,
}


def get_task(config: TaskConfig | None = None) -> Task:
    """The Task object for a recipe's task section."""
    config = config or TaskConfig()
    if config.name not in TASKS:
        raise UserError(
            f"task.name={config.name!r} is not a task; choose one of {', '.join(sorted(TASKS))}"
        )
    return TASKS[config.name](config)


def check_task_model(task_config: TaskConfig, model_config) -> str | None:
    """Why a recipe's task and model sections do not fit together, in one line; None if they do.

    colorization: 1 -> 2 channels (L -> ab); superres: an SR generator (model.netG) whose scale
    is task.scale, RGB -> RGB; translation: a same-size generator, channels as the data has them.
    """
    from translate.networks import SR_GENERATORS

    name, net = task_config.name, model_config.netG
    if name not in TASKS:
        return f"task.name={name!r} is not a task; choose one of {', '.join(sorted(TASKS))}"
    if name == "superres":
        if task_config.scale not in SCALES:
            return (
                f"task.scale={task_config.scale} is not supported; choose one of "
                + ", ".join(map(str, SCALES))
            )
        if task_config.degradation not in DEGRADATIONS:
            return (
                f"task.degradation={task_config.degradation!r} is not valid; choose one of "
                + ", ".join(DEGRADATIONS)
            )
        if net not in SR_GENERATORS:
            return (
                f"model.netG={net} does not upscale; task superres needs one of "
                + ", ".join(SR_GENERATORS)
            )
    elif net in SR_GENERATORS:
        return f"model.netG={net} is a super-resolution generator; use it with task.name=superres"
    if name == "translation":  # channels follow the data (e.g. 1 for gray images)
        return None
    task = TASKS[name](task_config)
    wanted = (task.input_channels, task.output_channels)
    got = (model_config.input_channels, model_config.output_channels)
    if got != wanted:
        return (
            f"task {name} needs model.input_channels={wanted[0]} and "
            f"model.output_channels={wanted[1]} (got {got[0]} and {got[1]})"
        )
    return None


__all__ = [
    "TASKS",
    "ColorizationTask",
    "SuperResolutionTask",
    "Task",
    "TaskConfig",
    "TranslationTask",
    "check_task_model",
    "get_task",
]
