"""One bundle whichever door made it: the run, `automl export RUN` and `Result.export`."""

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import automl
from automl.errors import ConfigError
from automl.reexport import reexport
from tests.conftest import SAMPLE
from tests.helpers import sample_folder


def _card(folder):
    """The model card without what differs between two runs of the same files (latencies)."""
    lines = (folder / "README.md").read_text(encoding="utf-8").splitlines()
    # The latency column (last, or before the MediaPipe column) and the app section's latency.
    lines = [re.sub(r"\| [0-9.]+ \|( [^|]+ \|)?$", lambda m: "| |" + (m.group(1) or ""), line) for line in lines]
    return [re.sub(r"[0-9.]+ ms per example", "ms per example", line) for line in lines]


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _zipped(folder):
    with zipfile.ZipFile(folder.with_name(folder.name + ".zip")) as archive:
        return sorted(name.split("/", 1)[1] for name in archive.namelist())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One small run (30 real images, one trial), its `Result` and its folder."""
    tmp_path = tmp_path_factory.mktemp("assess")
    folder = sample_folder(SAMPLE, tmp_path / "images", 30)
    result = automl.fit(str(folder), task="image_classification", output=str(tmp_path / "run"), seed=3,
                        search={"max_trials": 1, "epochs": 1, "families": ["small_cnn"],
                                "hyperparameters": {"width": 8, "depth": 2}},
                        finetune={"epochs": 2},
                        export={"quantizations": ["float32", "int8"], "int8_accuracy_gate": 0.5})
    return result, tmp_path / "run"


def test_the_run_automl_export_and_result_export_make_the_same_bundle(finished, tmp_path):
    result, run_dir = finished
    run = run_dir / "export"
    by_cli = reexport(run_dir, out=tmp_path / "cli")
    result.export(tmp_path / "api")
    by_api = tmp_path / "api" / "export"
    # The re-export writes its own report.json beside the bundle; the rest is the same bundle.
    assert [f for f in _files(by_cli) if f != "report.json"] == _files(run) == _files(by_api)
    assert {"README.md", "metadata.json", "labels.txt", "model_int8.tflite", "model_float32.tflite"} <= set(_files(run))
    assert _zipped(run) == _zipped(by_api) == [f for f in _zipped(by_cli) if f != "report.json"]
    assert _card(by_cli) == _card(run) == _card(by_api)
    assert "against Keras" in (run / "README.md").read_text() and "agreement" in (run / "README.md").read_text()


def _checksums(root):
    """Every file's digest but the run directory's lock (whose holder each command writes)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_exports_write_only_into_new_folders_or_their_own_earlier_ones(finished, tmp_path):
    """`automl export --out` and `Result.export` never delete what they did not write: a folder with
    anything but an earlier bundle in it is refused (exit 2, one line), and so is the run's own
    export/; an earlier export of the same run is replaced whole."""
    result, run_dir = finished
    mine = tmp_path / "mine"
    for place in (mine / "notes.txt", mine / "export" / "photo.jpg", mine / "export.zip"):
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_text(f"the user's {place.name}")
    planted, run_files = _checksums(mine), _checksums(run_dir)

    def export(out):
        # One file is enough to show what is replaced and what is kept.
        return subprocess.run([sys.executable, "-m", "automl", "export", str(run_dir), "--out", str(out),
                               "--quantization", "float32"], capture_output=True, text=True)

    for out in (mine, mine / "export", run_dir / "export", run_dir):
        done = export(out)
        assert done.returncode == 2, (out, done.stderr)
        assert "is not empty and is not an earlier automl bundle" in done.stderr, done.stderr
    with pytest.raises(ConfigError, match="is not empty"):
        result.export(mine)
    (mine / "export" / "photo.jpg").unlink()
    (mine / "export").rmdir()
    with pytest.raises(ConfigError, match="export.zip exists"):  # a zip of the user's beside it
        result.export(mine)
    (mine / "export" / "photo.jpg").parent.mkdir()
    (mine / "export" / "photo.jpg").write_text("the user's photo.jpg")
    assert _checksums(mine) == planted and _checksums(run_dir) == run_files
    assert not list(tmp_path.rglob(".*"))  # no staging folder left behind

    # Into a new folder, then again into the same one: the earlier export is replaced whole.
    first = export(mine / "bundle")
    assert first.returncode == 0, first.stderr
    (mine / "bundle" / "model_float32.tflite").write_bytes(b"stale")
    again = export(mine / "bundle")
    assert again.returncode == 0, again.stderr
    assert (mine / "bundle" / "model_float32.tflite").read_bytes()[4:8] == b"TFL3"
    assert zipfile.ZipFile(mine / "bundle.zip").namelist()[0].startswith("bundle/")
    assert {k: v for k, v in _checksums(mine).items() if not k.startswith("bundle")} == planted
    assert _checksums(run_dir) == run_files


def test_a_run_directory_travels_and_other_data_or_runs_are_refused(finished, tmp_path):
    """The run keeps its data path absolute, so it is read back from any folder; a copy of the run
    is another run to `automl diff`; data changed since the run is refused by `automl export`."""
    import shutil

    import yaml

    _, run_dir = finished
    data_path = yaml.safe_load((run_dir / "pipeline.yaml").read_text())["data"]["path"]
    assert data_path.startswith("/") and ".." not in data_path
    moved = tmp_path / "moved_run"
    shutil.copytree(run_dir, moved)

    def automl_cli(*args):
        return subprocess.run([sys.executable, "-m", "automl", *map(str, args)], capture_output=True, text=True,
                              cwd=tmp_path)

    done = automl_cli("diff", run_dir / "export", moved / "export")
    assert done.returncode == 1 and "--other-run" in done.stderr and str(moved) in done.stderr, done.stderr
    done = automl_cli("diff", run_dir / "export", moved / "export", "--other-run")
    assert done.returncode == 0, done.stderr
    # Data changed since the run: one image fewer (put back as it was: same bytes and times).
    victim = sorted(Path(data_path).rglob("*.png"))[0]
    kept, stat = victim.read_bytes(), victim.stat()
    victim.unlink()
    try:
        done = automl_cli("export", moved, "--out", tmp_path / "new")
        assert done.returncode == 1 and "the data changed since the run" in done.stderr, done.stderr
        assert not (tmp_path / "new").exists()
    finally:
        victim.write_bytes(kept)
        os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_rerun_whose_file_fails_its_gate_under_require_all_keeps_the_complete_result(finished, tmp_path,
                                                                                       monkeypatch):
    """It replaced the good report.json with `failed`, swapped export/ and then said the old result
    stayed; now the rerun fails (PipelineFailed naming the file) and the four published pieces are
    the complete run's, byte for byte."""
    import json
    import shutil

    import yaml

    import automl.verify
    from automl.errors import PipelineFailed

    _, run_dir = finished
    rerun = tmp_path / "run"
    shutil.copytree(run_dir, rerun)
    published = {name: _checksums(rerun / name) if (rerun / name).is_dir() else (rerun / name).read_bytes()
                 for name in ("report.json", "report.html", "export", "export.zip")}
    real = automl.verify.verify_exports

    def int8_fails_its_gate(rows, *args, **kwargs):
        real(rows, *args, **kwargs)
        for row in rows:
            if row.get("quantization") == "int8" and row["format"] == "tflite":
                row["rejected"] = "accuracy 0.1000 is 0.5000 worse than Keras (a test's stand-in for a lossy file)"
        return [row for row in rows if row.get("rejected")]

    monkeypatch.setattr(automl.verify, "verify_exports", int8_fails_its_gate)
    with pytest.raises(PipelineFailed, match=r"model_int8.tflite: accuracy 0.1000 .* \(export.require_all is true\)"):
        automl.fit(yaml.safe_load((run_dir / "pipeline.yaml").read_text())["data"]["path"], task="image_classification",
                   output=str(rerun), seed=3,
                   search={"max_trials": 1, "epochs": 1, "families": ["small_cnn"],
                           "hyperparameters": {"width": 8, "depth": 2}},
                   finetune={"epochs": 2},
                   export={"quantizations": ["float32", "int8"], "int8_accuracy_gate": 0.4, "require_all": True})
    assert {name: _checksums(rerun / name) if (rerun / name).is_dir() else (rerun / name).read_bytes()
            for name in published} == published
    partial = json.loads((rerun / "report.partial.json").read_text())
    assert partial["status"] == "failed" and "require_all" in partial["error"]


def test_a_run_whose_weights_do_not_fit_this_automls_model_is_refused_plainly(finished, tmp_path):
    """A run made by another automl version (its model had other layers) cannot be re-exported: the
    error names the weights and says what to do, not Keras's count of objects it could not load."""
    import shutil

    import keras

    from automl.errors import DataError

    _, run_dir = finished
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="not_this_model")])
    for weights in (copy / "finetune").glob("*.weights.h5"):
        other.save_weights(weights)
    with pytest.raises(DataError, match="do not fit the model this automl builds") as refused:
        reexport(copy, out=tmp_path / "out")
    assert "pipeline.yaml" in str(refused.value) and not (tmp_path / "out").exists()
