"""Tasks by name. Listed explicitly: importing this module builds no models."""

from __future__ import annotations

from automl.tasks.base import Task

_TASKS = {
    "image_classification": "automl.tasks.image_classification.task:ImageClassification",
    "image_segmentation": "automl.tasks.image_segmentation.task:ImageSegmentation",
    "text_classification": "automl.tasks.text_classification.task:TextClassification",
    "time_series_forecasting": "automl.tasks.time_series_forecasting.task:Forecasting",
}


def task_names() -> list[str]:
    return sorted(_TASKS)


def get_task_class(name: str) -> type[Task]:
    import importlib

    if name not in _TASKS:
        raise ValueError(
            f"Task {name!r} is not available yet. Available: {', '.join(task_names())}"
        )
    module, cls = _TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def get_task(name: str) -> Task:
    return get_task_class(name)()
