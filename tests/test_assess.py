"""One bundle whichever door made it: the run, `automl export RUN` and `Result.export`."""

import re
import zipfile

import automl
from automl.reexport import reexport
from tests.helpers import sample_folder


def _card(folder):
    """The model card without what differs between two runs of the same files (latencies)."""
    lines = (folder / "README.md").read_text(encoding="utf-8").splitlines()
    return [re.sub(r"\| [0-9.]+ \|$", "| |", line) for line in lines]


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _zipped(folder):
    with zipfile.ZipFile(folder.with_name(folder.name + ".zip")) as archive:
        return sorted(name.split("/", 1)[1] for name in archive.namelist())


def test_the_run_automl_export_and_result_export_make_the_same_bundle(sample_dir, tmp_path):
    folder = sample_folder(sample_dir, tmp_path / "images", 30)
    result = automl.fit(str(folder), task="image_classification", output=str(tmp_path / "run"), seed=3,
                        search={"max_trials": 1, "epochs": 1, "families": ["small_cnn"],
                                "hyperparameters": {"width": 8, "depth": 2}},
                        finetune={"epochs": 2},
                        export={"quantizations": ["float32", "int8"], "int8_accuracy_gate": 0.5})
    run = tmp_path / "run" / "export"
    by_cli = reexport(tmp_path / "run")
    result.export(tmp_path / "api")
    by_api = tmp_path / "api" / "export"
    # The re-export writes its own report.json beside the bundle; the rest is the same bundle.
    assert [f for f in _files(by_cli) if f != "report.json"] == _files(run) == _files(by_api)
    assert {"README.md", "metadata.json", "labels.txt", "model_int8.tflite", "model_float32.tflite"} <= set(_files(run))
    assert _zipped(run) == _zipped(by_api) == [f for f in _zipped(by_cli) if f != "report.json"]
    assert _card(by_cli) == _card(run) == _card(by_api)
    assert "against Keras" in (run / "README.md").read_text() and "agreement" in (run / "README.md").read_text()
