"""`automl schema` and `automl init` agree with the loader: every shipped pipeline and
every init output validates against the JSON Schema, and loads once its data path is set."""

import json

import jsonschema
import pytest
import yaml

from automl.cli import main
from automl.config.loader import load_config
from automl.config.schema import pipeline_file_schema
from automl.config.template import commented_pipeline, short_pipeline
from automl.tasks import task_names
from tests.conftest import REPO


@pytest.fixture(scope="module")
def validator():
    schema = pipeline_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def messages(validator, document) -> list[str]:
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("path", sorted((REPO / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipelines_match_the_schema(validator, path):
    assert messages(validator, yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("task", task_names())
@pytest.mark.parametrize("make", [commented_pipeline, short_pipeline], ids=["full", "short"])
def test_init_output_matches_the_schema_and_loads(validator, task, make, tmp_path):
    text = make(task)
    assert messages(validator, yaml.safe_load(text)) == []
    (tmp_path / "data.csv").write_text("x\n")
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("path/to/your/data", str(tmp_path / "data.csv")))
    assert load_config(path).task == task


def test_schema_rejects_what_the_loader_rejects(validator):
    base = {"extends": "image_classification", "data": {"path": "d"}}
    assert messages(validator, base) == []
    for bad in ({"search": {"time_limit": "soon"}}, {"search": {"time_limit": -3}}, {"seed": -1},
                {"serch": {}}, {"export": {"quantizations": ["int3"]}}):
        assert messages(validator, {**base, **bad}), bad
    assert messages(validator, {"data": {"path": "d"}}), "a file with neither task nor extends"


def test_schema_command_prints_the_file_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert len(schema["anyOf"]) == len(task_names())
    assert all("extends" in schema["$defs"][ref["$ref"].split("/")[-1]]["properties"] for ref in schema["anyOf"])


@pytest.mark.parametrize("task", task_names())
def test_init_writes_what_a_user_fills_in_and_full_writes_every_key(task, capsys):
    """The short file: its data keys, a time limit and a pointer to --full, under 20 lines; a file with
    every key is what `--full` is for (it was 112-120 lines by default, lease settings included)."""
    assert main(["init", "--task", task]) == 0
    short = capsys.readouterr().out
    assert len(short.splitlines()) <= 20 and f"--task {task} --full" in short
    assert "lease" not in short and "compression" not in short
    assert main(["init", "--task", task, "--full"]) == 0
    full = yaml.safe_load(capsys.readouterr().out)
    assert {"search", "finetune", "export", "runtime"} <= set(full)
