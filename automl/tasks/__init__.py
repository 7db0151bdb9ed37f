"""Tasks by name. Listed explicitly: importing this module builds no models."""

from __future__ import annotations

import difflib

from automl.errors import ConfigError
from automl.tasks.base import Task

#: name -> (task class, pipeline config class). A new task is one folder and one line here.
_TASKS = {
    "image_classification": ("automl.tasks.image_classification.task:ImageClassification",
                             "automl.tasks.image_classification.config:ImageClassificationConfig"),
    "image_generation": ("automl.tasks.image_generation.task:ImageGeneration",
                         "automl.tasks.image_generation.config:ImageGenerationConfig"),
    "image_segmentation": ("automl.tasks.image_segmentation.task:ImageSegmentation",
                           "automl.tasks.image_segmentation.config:SegmentationConfig"),
    "object_detection": ("automl.tasks.object_detection.task:ObjectDetection",
                         "automl.tasks.object_detection.config:DetectionConfig"),
    "text_classification": ("automl.tasks.text_classification.task:TextClassification",
                            "automl.tasks.text_classification.config:TextClassificationConfig"),
    "time_series_forecasting": ("automl.tasks.time_series_forecasting.task:Forecasting",
                                "automl.tasks.time_series_forecasting.config:ForecastingConfig"),
}


def register_task(name: str, task, config) -> None:
    """Adds a task from outside automl: its `Task` subclass and its `PipelineConfig` subclass (whose
    `task` is `Literal[name]`), each a class or a "module:Class" reference. Families serve it by
    naming it in their `FamilyInfo.tasks` (`automl.families.register_family`)."""
    if not name or not isinstance(name, str):
        raise ConfigError(f"register_task: expected a task name. Received: name={name!r}")
    _TASKS[name] = (task, config)


def _load(reference):
    """A class, or the class a "module:Class" reference names."""
    import importlib

    if not isinstance(reference, str):
        return reference
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


def task_names() -> list[str]:
    return sorted(_TASKS)


def require_task(name, where: str = "task") -> str:
    """`name` when it is a registered task; else a ConfigError naming `where` (the key or option),
    the value, the closest task name and every known one."""
    if name not in _TASKS:
        close = difflib.get_close_matches(str(name), task_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{where}: unknown task.{hint} Received: {name!r}; known: {', '.join(task_names())}")
    return name


def _entry(name: str) -> tuple[str, str]:
    return _TASKS[require_task(name)]


def get_task_class(name: str) -> type[Task]:
    return _load(_entry(name)[0])


def get_config_class(name: str):
    """The pipeline config class of a task (its `data` section is the task's own)."""
    return _load(_entry(name)[1])


def get_task(name: str) -> Task:
    return get_task_class(name)()
