"""A task from outside automl with two named outputs (tests/class_and_box.py) runs the whole pipeline:
search, fine-tuning, export to float32 and int8, LiteRT verification of both outputs, the report
and `automl predict`, through the public registries and nothing that names it under automl/."""

import json
import subprocess

import pytest

import automl.families as families
import automl.tasks as tasks
from automl.cli import main
from tests.class_and_box import NAME, BoxCNN, ClassAndBox, ClassAndBoxConfig
from tests.conftest import REPO
from tests.helpers import sample_folder


@pytest.fixture
def registered(monkeypatch):
    """The task and its family registered for one test (the registries are restored after)."""
    monkeypatch.setattr(tasks, "_TASKS", dict(tasks._TASKS))
    monkeypatch.setattr(families, "_FAMILIES", dict(families._FAMILIES))
    tasks.register_task(NAME, ClassAndBox, ClassAndBoxConfig)
    families.register_family("box_cnn", BoxCNN)


def test_nothing_under_automl_names_the_task():
    found = subprocess.run(["grep", "-rl", NAME, str(REPO / "automl")], capture_output=True, text=True).stdout
    assert found == ""


def test_a_two_output_task_runs_search_to_predict(registered, sample_dir, tmp_path, capsys):
    folder = sample_folder(sample_dir, tmp_path / "images", 40)
    pipeline = tmp_path / "boxes.yaml"
    pipeline.write_text(f"""extends: image_classification
task: {NAME}
seed: 1
data:
  path: {folder}
search:
  max_trials: 2
  epochs: 2
  hyperparameters: {{width: 16, depth: 2}}
finetune:
  epochs: 4
export:
  formats: [tflite]
  quantizations: [float32, int8]
  int8_accuracy_gate: 0.5
""", encoding="utf-8")
    run = tmp_path / "run"
    assert main(["run", str(pipeline), "--out", str(run)]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "succeeded" and report["best"]["family"] == "box_cnn"
    assert len(report["search"]["trials"]) == 2 and report["finetune"]["epochs_run"] >= 1
    assert report["test_metrics"]["box_iou"] > 0.4, report["test_metrics"]

    rows = {r["quantization"]: r for r in report["exports"] if r["format"] == "tflite"}
    assert set(rows) == {"float32", "int8"} and not any(r.get("rejected") for r in rows.values())
    for row in rows.values():  # both outputs read back from LiteRT and scored
        assert row["test_metrics"]["box_iou"] > 0.4 and "accuracy" in row["test_metrics"]
        assert set(row["vs_keras"]) == {"agreement", "box_max_abs_error"}
    assert rows["float32"]["vs_keras"]["agreement"] == 1.0
    assert rows["float32"]["vs_keras"]["box_max_abs_error"] < 1e-4
    assert rows["int8"]["vs_keras"]["box_max_abs_error"] < 0.1  # int8 steps of a sigmoid, not a lost output
    metadata = json.loads((run / "export" / "metadata.json").read_text())
    assert set(metadata["int8_io"]["outputs"]) == {"label", "box"}
    # The bundle alone (its preprocessing, the smallest file) answers as verification's LiteRT run of
    # that file did. (Not a floor on agreement: on 12 images a barely trained model's near-equal
    # probabilities tie in int8, so its agreement is luck.)
    assert report["predict_agreement"]["model"] == "model_int8.tflite"
    assert report["predict_agreement"]["vs_keras"] == rows["int8"]["vs_keras"]
    assert "box max abs error" in (run / "report.html").read_text()
    assert "box max abs error" in (run / "export" / "README.md").read_text()

    capsys.readouterr()
    image = sorted((folder / "Sneaker").glob("*.png"))[0]
    assert main(["predict", str(run), str(image), "--json", "--quantization", "float32"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["label"] in ("Bag", "Sneaker", "Trouser") and len(row["box"]) == 4
    assert 0 <= row["box"][0] < row["box"][2] <= 1 and 0 <= row["box"][1] < row["box"][3] <= 1
