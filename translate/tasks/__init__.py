"""Tasks: the pre/post-processing around a generator, chosen by name in the recipe."""

from __future__ import annotations

from translate.errors import UserError
from translate.tasks.base import Task, TaskConfig, TranslationTask
from translate.tasks.colorization import ColorizationTask
from translate.tasks.exported import ExportedTask
from translate.tasks.superres import DEGRADATIONS, SCALES, SuperResolutionTask

# The one list of tasks: a new task is its own module (a Task subclass) plus one entry here.
TASKS: dict[str, type[Task]] = {
    task.name: task for task in (TranslationTask, ColorizationTask, SuperResolutionTask)
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
    """Why a recipe's task and model sections do not fit together, in one line; None if they do
    (the task's own options first, then Task.check_model)."""
    try:
        task = get_task(task_config)
    except UserError as error:
        return str(error)
    return task.check_model(model_config)


__all__ = [
    "DEGRADATIONS",
    "SCALES",
    "TASKS",
    "ExportedTask",
    "ColorizationTask",
    "SuperResolutionTask",
    "Task",
    "TaskConfig",
    "TranslationTask",
    "check_task_model",
    "get_task",
]
