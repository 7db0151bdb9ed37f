"""docs/configuration-reference.md, generated from the schema (`automl schema --markdown`): every
key of every task's pipeline file with its default (the task template's where it sets one) and
its description. A test keeps the committed page equal to what this prints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from automl.config.loader import TEMPLATES_DIR, read_yaml
from automl.config.template import _value


def reference_markdown() -> str:
    from automl.tasks import get_config_class, task_names

    lines = ["# Configuration reference", "",
             "Generated from the schema by `automl schema --markdown`; do not edit by hand. Each task's",
             "pipeline file starts from its template (`extends: TASK`, in `templates/`) and states only what",
             "differs; `automl init --task TASK --full` prints the same keys as a commented file.", ""]
    lines += [f"- [{name}](#{name})" for name in task_names()]
    for name in task_names():
        template = read_yaml(TEMPLATES_DIR / f"{name}.yaml")
        lines += ["", f"## {name}", "", "| key | default | description |", "|---|---|---|"]
        lines += _rows(get_config_class(name), template, "")
    return "\n".join(lines) + "\n"


def _rows(model: type[BaseModel], values: dict, prefix: str) -> list[str]:
    rows = []
    for key, field in model.model_fields.items():
        if key == "schema_version" and not prefix:
            continue
        annotation = field.annotation
        value: Any = (values or {}).get(key, field.get_default(call_default_factory=True))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sub = value.model_dump(mode="json") if isinstance(value, BaseModel) else (
                value if isinstance(value, dict) else {})
            rows += _rows(annotation, sub, f"{prefix}{key}.")
            continue
        shown = "(required)" if field.is_required() else _value(value)
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{prefix}{key}` | `{shown}` | {description} |")
    return rows
