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
