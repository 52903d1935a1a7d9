"""The task of an exported SavedModel: its graph already holds the task's processing.

Photos go in and come out as they are; everything else the task says of itself (its name,
scale, grayscale rule, baseline, evaluation protocol) is the named task's.
"""

from __future__ import annotations

import tensorflow as tf

from translate.tasks.base import Task


class ExportedTask:
    """Photo space on both sides, otherwise `task` (the task the export was made for)."""

    input_channels = 3
    output_channels = 3

    def __init__(self, task: Task):
        self.task = task

    def __getattr__(self, name):  # name, scale, keeps_grayscale, baseline, evaluation_*, ...
        return getattr(self.task, name)

    def to_model(self, image01):
        return tf.cast(image01, tf.float32)

    def from_model(self, output, image01=None):
        return tf.clip_by_value(tf.cast(output, tf.float32), 0.0, 1.0)

    @classmethod
    def named(cls, name: str | None = None, scale: int = 1) -> ExportedTask:
        """From an export's metadata (task name, default TaskConfig's, and scale); superres LR
        images for evaluation are made with the bicubic degradation (the only one an export
        records)."""
        from translate.tasks import TaskConfig, get_task

        return cls(get_task(TaskConfig(name=name or TaskConfig.name, scale=int(scale))))
