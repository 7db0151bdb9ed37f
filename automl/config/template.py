"""`automl init`: a commented pipeline file, generated from the schema itself."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from automl.config.loader import TEMPLATES_DIR, read_yaml


def _value(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value) if value is not None else "null"


def _lines(model: type[BaseModel], values: dict, indent: int) -> list[str]:
    pad = "  " * indent
    out = []
    for name, field in model.model_fields.items():
        if name in ("schema_version",) and indent == 0:
            continue
        annotation = field.annotation
        value = values.get(name, field.get_default(call_default_factory=True))
        if field.description:
            out.append(f"{pad}# {field.description}")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.append(f"{pad}{name}:")
            sub_values = value.model_dump(mode="json") if isinstance(value, BaseModel) else (value or {})
            out.extend(_lines(annotation, sub_values, indent + 1))
        else:
            out.append(f"{pad}{name}: {_value(value)}")
    return out


def short_pipeline(task: str) -> str:
    """What a user fills in: the data keys the task asks for (`DataConfig.asked_keys`) and the time
    limit, each with its description; the rest comes from the task's template (`extends`)."""
    from automl.tasks import get_config_class, require_task

    require_task(task, "init --task")
    config_class = get_config_class(task)
    data_class = config_class.model_fields["data"].annotation
    defaults = read_yaml(TEMPLATES_DIR / f"{task}.yaml")
    lines = [f"# automl pipeline for {task}. Run: automl run THIS_FILE",
             f"# Only what you fill in; everything else is the {task} template's default.",
             f"# `automl init --task {task} --full` lists every key with its description.",
             "schema_version: 1", f"name: my_{task}", f"extends: {task}", "data:"]
    for key in data_class.asked_keys:
        field = data_class.model_fields[key]
        value = "path/to/your/data" if key == "path" else defaults.get("data", {}).get(
            key, field.get_default(call_default_factory=True))
        lines += [f"  # {field.description}", f"  {key}: {_value(value)}"]
    time_limit = config_class.model_fields["time_limit"]
    lines += [f"# {time_limit.description.split(':')[0]}", f"time_limit: {defaults.get('time_limit') or '30m'}"]
    return "\n".join(lines) + "\n"


def commented_pipeline(task: str) -> str:
    from automl.tasks import get_config_class, require_task

    require_task(task, "init --task")
    path = TEMPLATES_DIR / f"{task}.yaml"
    defaults = read_yaml(path) if path.exists() else {}
    defaults.pop("extends", None)
    defaults["task"] = task
    defaults.setdefault("data", {})["path"] = "path/to/your/data"
    header = [
        f"# automl pipeline for {task}. Run: automl run THIS_FILE",
        "# `auto` (or leaving a key out) lets automl choose or search it; a value pins it.",
        "schema_version: 1",
        f"extends: {task}" if path.exists() else "",
    ]
    body = _lines(get_config_class(task), defaults, 0)
    return "\n".join(line for line in header if line) + "\n" + "\n".join(body) + "\n"
