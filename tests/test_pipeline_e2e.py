"""The whole pipeline on the shipped real sample, as a user runs it."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import QUICKSTART_FAST as FAST
from tests.conftest import REPO
from tests.helpers import flex_ops_in


def run(out, *extra, pipeline="pipelines/quickstart.yaml"):
    return subprocess.run([sys.executable, "-m", "automl", "run", pipeline, "--out", str(out), *FAST, *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=900)


def test_report_has_what_users_read(quickstart_run):
    out, report, _ = quickstart_run
    assert report["status"] == "succeeded" and report["task"] == "image_classification"
    assert report["dataset"]["split_sizes"] == {"train": 700, "val": 150, "test": 150}
    assert report["selector"]["families"][0]["reasons"]
    trial = report["search"]["trials"][0]
    assert {"trial_id", "family", "status", "objective", "seconds"} <= set(trial)
    assert report["best"]["family"] and report["best"]["hyperparameters"]
    assert report["test_metrics"]["accuracy"] > 0.35  # 10 classes: chance is 0.10
    assert report["timings"]["total_seconds"] > 0
    assert report["runtime"]["strategy"] == "default (CPU)"
    # Whether the exported model averages over mirror images, and why (decided on validation).
    assert isinstance(report["inference"]["used"], bool) and report["inference"]["why"]


def test_every_tflite_file_carries_its_labels_and_input_description(quickstart_run):
    """TFLite Metadata inside each file, read back: the bundle's labels, the image size and colour,
    and the identity normalization of pixels 0..255 (the model scales them itself)."""
    from automl.app_metadata.packing import read_metadata

    out, report, _ = quickstart_run
    labels = (out / "export" / "labels.txt").read_text().splitlines()
    files = sorted((out / "export").glob("*.tflite"))
    assert len(files) >= 2
    for path in files:
        metadata, packed = read_metadata(path.read_bytes())
        assert packed == {"labels.txt": (out / "export" / "labels.txt").read_bytes()}, path.name
        graph = metadata["subgraph_metadata"][0]
        image = graph["input_tensor_metadata"][0]
        # Grey data, RGB input: apps hand camera frames, and the model makes them grey itself.
        assert image["content"]["content_properties"]["ImageProperties"] == {
            "color_space": "RGB", "default_size": {"width": 28, "height": 28}}
        assert image["process_units"][0]["options"]["NormalizationOptions"] == {"mean": [0.0] * 3, "std": [1.0] * 3}
        output = graph["output_tensor_metadata"][0]
        assert output["associated_files"][0]["name"] == "labels.txt" and len(labels) == 10
        assert metadata["name"] == report["name"]


def _test_images(out):
    """The run's 150 test images as the PNG files they are in the sample folder."""
    import yaml

    from automl.config.loader import config_from_mapping
    from automl.tasks import get_task

    config = config_from_mapping(yaml.safe_load((out / "pipeline.yaml").read_text()))
    return get_task(config.task).load_data(config).part("test").paths


def test_mediapipe_image_classifier_gives_automl_predicts_top_class_on_every_test_png(quickstart_run):
    """The float32 and int8 files in MediaPipe's ImageClassifier (the Python Tasks API apps share
    with Android, iOS and the web), fed the PNG files, against `automl predict` on the same files."""
    pytest.importorskip("mediapipe", reason="pip install 'automl[mediapipe]'")
    from automl.mediapipe_tasks import classify_images
    from automl.predict import Predictor

    out, report, _ = quickstart_run
    paths = _test_images(out)
    assert len(paths) == 150 and all(str(p).endswith(".png") for p in paths)
    for quantization in ("float32", "int8"):
        predicted = Predictor(out, quantization).probabilities(paths).argmax(-1)
        in_mediapipe = classify_images(out / "export" / f"model_{quantization}.tflite", paths, 10).argmax(-1)
        assert (in_mediapipe == predicted).all(), (quantization, int((in_mediapipe != predicted).sum()))
    # The run did the same as part of verification, and the report and model card say so.
    for row in (r for r in report["exports"] if r["format"] == "tflite"):
        found = row["mediapipe"]
        assert found["task"] == "ImageClassifier" and found["examples"] == 150, row
        assert found["vs_keras"]["agreement"] >= 0.98, row
    card = (out / "export" / "README.md").read_text()
    assert "in MediaPipe Tasks" in card and "ImageClassifier: agreement" in card


def test_the_model_cards_python_snippet_runs_in_mediapipe_as_written(quickstart_run):
    """The card's MediaPipe Python code, run as a user would (in the bundle's folder, one of the test
    PNGs as photo.png), prints the class `automl predict` gives it; the other platforms' code is there."""
    pytest.importorskip("mediapipe", reason="pip install 'automl[mediapipe]'")
    import re

    from automl.predict import Predictor

    out, _, _ = quickstart_run
    card = (out / "export" / "README.md").read_text()
    assert all(title in card for title in ("### Android (Kotlin", "### iOS (Swift", "### Web (JavaScript"))
    snippet = re.search(r"### Python \(`pip install mediapipe`\)\n\n```python\n(.*?)```", card, re.S).group(1)
    picked = re.search(r'model_asset_path="(model_\w+\.tflite)"', snippet).group(1)
    photo = _test_images(out)[0]
    shutil.copyfile(photo, out / "export" / "photo.png")
    try:
        printed = subprocess.run([sys.executable, "-c", snippet], cwd=out / "export", capture_output=True, text=True,
                                 timeout=120)
    finally:
        (out / "export" / "photo.png").unlink()
    assert printed.returncode == 0, printed.stderr[-2000:]
    expected = Predictor(out, picked.removeprefix("model_").removesuffix(".tflite")).predict([str(photo)])[0]
    assert printed.stdout.split()[0] == expected["label"], (printed.stdout, expected)


def test_the_model_cards_javascript_classifies_a_photo_in_chromium_as_automl_predict_does(quickstart_run):
    """The card's web code as printed, in MediaPipe Tasks for the web in headless Chromium, on one
    of the test PNGs shown in an <img>: the class `automl predict` gives it."""
    import re

    from automl.predict import Predictor
    from tests.mediapipe_web import card_javascript, run_in_chromium

    out, _, _ = quickstart_run
    snippet = card_javascript((out / "export" / "README.md").read_text())
    picked = re.search(r'modelAssetPath: "model_(\w+)\.tflite"', snippet).group(1)
    photo = _test_images(out)[3]
    shutil.copyfile(photo, out / "export" / "photo.png")
    try:
        printed = run_in_chromium(snippet, out / "export", '<img id="photo" src="photo.png">')
    finally:
        (out / "export" / "photo.png").unlink()
    label = printed[-1].split()[0]
    assert label == Predictor(out, picked).predict([str(photo)])[0]["label"], printed


def test_a_tflite_file_alone_predicts_through_its_metadata(quickstart_run, tmp_path):
    """`automl predict model_int8.tflite PNG...` with no bundle beside it gives the bundle's answers."""
    from automl.predict import Predictor

    out, _, _ = quickstart_run
    lone = tmp_path / "model_int8.tflite"
    shutil.copyfile(out / "export" / "model_int8.tflite", lone)
    paths = [str(p) for p in _test_images(out)[:20]]
    result = subprocess.run([sys.executable, "-m", "automl", "predict", str(lone), *paths, "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = Predictor(out, "int8").predict(paths)
    assert [r["label"] for r in rows] == [e["label"] for e in expected]
    assert [r["confidence"] for r in rows] == pytest.approx([e["confidence"] for e in expected], abs=1e-3)
    # A file without metadata says what to pass instead.
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(lone.read_bytes()))
    model.metadata = [m for m in model.metadata if m.name not in (b"TFLITE_METADATA", "TFLITE_METADATA")]
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    refused = subprocess.run([sys.executable, "-m", "automl", "predict", str(bare), paths[0]], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "carries no TFLite Metadata" in refused.stderr


def test_the_int8_file_takes_raw_uint8_pixels(quickstart_run):
    """MediaPipe hands a quantized image model uint8 pixels as they are: scale 1, zero point 0."""
    from automl.verify import LiteRTModel

    out, _, _ = quickstart_run
    model = LiteRTModel(out / "export" / "model_int8.tflite")
    assert model.input["dtype"].__name__ == "uint8" and model.input["quantization"] == (1.0, 0)
    assert list(model.input["shape"]) == [1, 28, 28, 3]


def test_every_export_row_says_its_compression_sizes_and_test_metrics(quickstart_run):
    _, report, _ = quickstart_run
    assert {row["format"] for row in report["exports"]} == {"keras", "saved_model", "tflite"}
    for row in report["exports"]:
        assert row["compression"] == "none" and 0 < row["gzip_bytes"] and row["bytes"] > 0
        assert 0 <= row["test_metrics"]["accuracy"] <= 1
    keras_row = next(row for row in report["exports"] if row["format"] == "keras")
    assert keras_row["test_metrics"] == report["test_metrics"]


def test_every_tflite_was_verified_on_litert(quickstart_run):
    out, report, _ = quickstart_run
    tflite = {e["quantization"]: e for e in report["exports"] if e["format"] == "tflite"}
    assert set(tflite) == {"float32", "float16", "dynamic", "int8"}
    keras_accuracy = report["test_metrics"]["accuracy"]
    for row in tflite.values():
        assert row["bytes"] == (REPO / row["path"]).stat().st_size  # REPO / an absolute path is that path
        assert row["latency_ms"] > 0 and row["vs_keras"]["agreement"] >= 0.9
        assert flex_ops_in(row) == []
    assert tflite["float32"]["test_metrics"]["accuracy"] == pytest.approx(keras_accuracy, abs=0.01)
    assert tflite["int8"]["bytes"] <= 0.35 * tflite["float32"]["bytes"]


def test_bundle_files(quickstart_run):
    out, report, _ = quickstart_run
    export = out / "export"
    assert (export / "labels.txt").read_text().splitlines()[0] == "Ankle_boot"
    meta = json.loads((export / "metadata.json").read_text())
    assert meta["input"]["shape"] == [None, 28, 28, 3]  # grey data, RGB input (the model makes it grey)
    assert meta["int8_io"]["input"] == {"dtype": "uint8", "scale": 1.0, "zero_point": 0}
    assert meta["versions"]["tensorflow"]
    assert (export / "model.keras").exists() and (export / "saved_model" / "saved_model.pb").exists()
    # The bundle's own preprocessor and smallest model, as `automl predict` runs them, on the raw test images.
    assert json.loads((export / "preprocessor.json").read_text())["config"] == {"shape": [28, 28, 3]}
    check = report["predict_agreement"]
    assert check["model"] == "model_int8.tflite" and check["examples"] == 150
    assert check["vs_keras"]["agreement"] >= 0.9
    # The model card gives each verified file's figures; the zip is the bundle without its big copies.
    card = (export / "README.md").read_text()
    int8 = next(r for r in report["exports"] if r.get("quantization") == "int8")
    assert f"| model_int8.tflite | int8 | none | {int8['bytes']} | {int8['gzip_bytes']} |" in card
    assert "ai_edge_litert.interpreter" in card and "'split_sizes'" not in card
    import zipfile

    with zipfile.ZipFile(out / "export.zip") as archive:
        names = set(archive.namelist())
    assert {"export/model_int8.tflite", "export/README.md", "export/metadata.json", "export/labels.txt"} <= names
    assert not any(n.startswith(("export/saved_model", "export/model.keras")) for n in names)
    assert report["bundle_zip"] == str(out / "export.zip")


def test_html_report_and_progress(quickstart_run):
    out, report, stderr = quickstart_run
    page = (out / "report.html").read_text()
    for heading in ("Search trials", "Exported files", "Confusion matrix", "Sample test predictions", "learning curves"):
        assert heading in page
    assert page.count("data:image/png;base64,") >= 3
    assert "trial" in stderr and "epoch 1/" in stderr and "time left" in stderr


def test_terminal_shows_only_progress_lines(quickstart_run):
    """No TensorFlow C++ log lines (cuInit, CPU features), no download attempts, no warnings."""
    _, _, stderr = quickstart_run
    others = [line for line in stderr.splitlines() if not line.startswith("[")]
    assert others == []
    assert "Downloading data from" not in stderr


def test_the_terminal_shows_the_race_and_ends_with_the_trials_and_the_files(quickstart_run):
    _, report, stderr = quickstart_run
    lines = [line.split("] ", 1)[1] for line in stderr.splitlines() if line.startswith("[")]
    trials = [line for line in lines if line.startswith("search    trial ")]
    assert [line.split()[2] for line in trials] == ["1/2", "2/2"], trials
    assert all("search time left" in line and "{" not in line for line in trials), trials
    # The ranked trials when the search ends, and the exported files when the run ends.
    header = lines.index(next(line for line in lines if line.startswith("search    rank")))
    assert "val_accuracy" in lines[header] and lines[header + 2].split()[1:3] == ["1", "*"]
    files = next(i for i, line in enumerate(lines) if line.startswith("done      file"))
    shown = [line.split()[1] for line in lines[files + 2:-1]]
    assert shown == [row["path"].rsplit("/", 1)[1] for row in report["exports"]]
    assert "iB " in lines[files + 2] and lines[-2].endswith(" ms") and lines[-1].startswith("done      succeeded")


def test_a_rerun_of_a_complete_run_redoes_nothing(quickstart_run):
    out, report, _ = quickstart_run
    again = run(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "search    finished in an earlier invocation (2 trial(s)" in again.stderr
    assert "finetune  finished in an earlier invocation" in again.stderr
    assert "already complete for this data and these settings; nothing redone" in again.stderr
    assert "export    " not in again.stderr
    second = json.loads((out / "report.json").read_text())
    assert [t["objective"] for t in second["search"]["trials"]] == [t["objective"] for t in report["search"]["trials"]]


def test_bad_data_fails_with_the_file_named(tmp_path, small_folder):
    bad = small_folder / "Bag" / "broken.png"
    bad.write_bytes(b"not an image")
    result = run(tmp_path / "run", "--set", f"data.path={small_folder}")
    assert result.returncode == 1
    assert str(bad) in result.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["status"] == "failed" and "broken.png" in report["error"]


def test_bad_yaml_fails_before_any_work(tmp_path):
    result = run(tmp_path / "run", "--set", "search.familes=[small_cnn]")
    assert result.returncode == 2 and "Did you mean 'families'" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("family", ["small_cnn", "mobilenet_v3", "efficientnet"])
def test_each_family_pinned_completes_the_quickstart(family, tmp_path):
    result = subprocess.run([sys.executable, "-m", "automl", "run", "pipelines/quickstart.yaml", "--out",
                             str(tmp_path / family), "--set", f"search.families=[{family}]"],
                            cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((tmp_path / family / "report.json").read_text())
    int8 = next(e for e in report["exports"] if e.get("quantization") == "int8")
    assert report["best"]["family"] == family
    # 10 balanced classes: chance is 0.10; every family learns the sample well past it within the budget.
    assert report["test_metrics"]["accuracy"] > 0.5
    assert int8["test_metrics"]["accuracy"] >= report["test_metrics"]["accuracy"] - 0.05


def test_predict_reports_each_bad_input_and_goes_on(quickstart_run, tmp_path, sample_dir):
    out, _, _ = quickstart_run
    good = sorted((sample_dir / "Bag").glob("*.png"))[0]
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    inputs = [good, tmp_path / "missing.png", "a warm, funny film", corrupt, good]
    result = subprocess.run([sys.executable, "-m", "automl", "predict", str(out), *map(str, inputs)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    header, *labels = result.stdout.splitlines()
    assert header == "label\tconfidence\tinput"
    assert len(labels) == 2 and all(line.endswith(str(good)) for line in labels)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("[")]
    assert len(errors) == 3 and "Traceback" not in result.stderr
    assert errors[0].startswith(f"error: {tmp_path / 'missing.png'}: no such image file")
    assert errors[1].startswith("error: a warm, funny film: no such image file")
    assert errors[2].startswith(f"error: {corrupt}: cannot read the image")


def test_predict_reads_an_export_zip_and_a_folder_and_says_which_file_answers(quickstart_run, sample_dir):
    """As an app developer would: the zip that was sent, a folder of photos, the three likeliest
    labels; the int8 file's 8-bit scores said, and --model picks the float32 file instead."""
    out, _, _ = quickstart_run
    folder = sample_dir / "Trouser"

    def predict(*args):
        done = subprocess.run([sys.executable, "-m", "automl", "predict", *map(str, args)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines(), done.stderr

    (header, *rows), said = predict(out / "export.zip", folder, "--top-k", "3")
    assert header == "label\tconfidence\ttop labels\tinput"
    images = sorted(folder.glob("*.png"))
    assert len(rows) == len(images) and {row.split("\t")[-1] for row in rows} == {str(p) for p in images}
    top = [row.split("\t")[2].split(", ") for row in rows]
    assert all(len(labels) == 3 for labels in top)
    confidences = [[float(item.rsplit(" ", 1)[1]) for item in labels] for labels in top]
    assert all(c == sorted(c, reverse=True) for c in confidences)
    assert sum(row.startswith("Trouser\t") for row in rows) >= 0.8 * len(rows)
    assert "model_int8.tflite" in said and "steps of 0.003906 (8-bit output)" in said
    _, said = predict(out, images[0], "--model", "model_float32.tflite")
    assert "model_float32.tflite" in said and "8-bit" not in said


@pytest.mark.parametrize("signal_name, exit_code, said", [("SIGINT", 130, "Ctrl-C")])
def test_ctrl_c_or_sigterm_stops_with_one_line_and_an_interrupted_report(tmp_path, signal_name, exit_code, said):
    """SIGTERM is what `docker stop`, Kubernetes and systemd send: handled as Ctrl-C is (SIGTERM in
    every stage: `test_sigterm_in_any_stage_of_a_rerun_leaves_the_finished_result_whole`)."""
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "automl", "run", "pipelines/quickstart.yaml", "--out", str(out)],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "search").exists():
        time.sleep(0.5)
    time.sleep(3)  # inside the first trial
    process.send_signal(getattr(signal, signal_name))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.strip() and not line.startswith("[")] == [
        f"interrupted ({said})"]
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "interrupted" and "search" in report["error"] and said in report["error"]


#: Run in a subprocess: `automl run ARGS...` that sends itself SIGTERM as stage STAGE starts
#: ("publish": just before the publication's renames), as `docker stop` would at that moment.
_TERMINATE_AT = """
import os, signal, sys
from contextlib import contextmanager
from automl import cli, run_dir
at, argv = sys.argv[1], sys.argv[2:]
stage, publish = run_dir.Recorder.stage, run_dir.Recorder.publish_complete

@contextmanager
def stopping_stage(self, name, *args, **kwargs):
    with stage(self, name, *args, **kwargs):
        if name == at:
            os.kill(os.getpid(), signal.SIGTERM)
        yield

def stopping_publish(self):
    if at == "publish":
        os.kill(os.getpid(), signal.SIGTERM)
    publish(self)

run_dir.Recorder.stage, run_dir.Recorder.publish_complete = stopping_stage, stopping_publish
sys.exit(cli.main(argv))
"""
#: Every stage; those that hold no state of their own (data, select, evaluate: nothing staged, nothing
#: checkpointed) run with `-m slow`, keeping CI's default run within 20 minutes.
STAGES = [pytest.param(stage, marks=[pytest.mark.slow]) if stage in ("data", "select", "evaluate") else stage
          for stage in ("data", "select", "search", "finetune", "evaluate", "export", "verify", "publish")]


def _published(out) -> dict:
    """Checksums of what a run publishes together: the report, its HTML, the bundle and its zip."""
    import hashlib

    files = [out / "report.json", out / "report.html", out / "export.zip", *sorted((out / "export").rglob("*"))]
    return {str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files if path.is_file()}


@pytest.mark.parametrize("stage", STAGES)
def test_sigterm_in_any_stage_of_a_rerun_leaves_the_finished_result_whole(quickstart_run, tmp_path, stage):
    """A rerun with other export settings resumes the search and fine-tuning, so every stage is
    reached in seconds; SIGTERM at its start ends it with exit 143 and one line, and the finished
    result is untouched: report.json, report.html, export/ and export.zip, byte for byte."""
    finished, report, _ = quickstart_run
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = _published(out)
    # Other export settings (a gate, two files of four) make the rerun's result another one.
    other = ["--set", "export.int8_accuracy_gate=0.06", "--set", "export.quantizations=[float32,int8]"]
    result = subprocess.run([sys.executable, "-c", _TERMINATE_AT, stage, "run", "pipelines/quickstart.yaml",
                             "--out", str(out), *FAST, *other],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 143, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("[")] == [
        "interrupted (SIGTERM)"]
    assert _published(out) == before
    assert json.loads((out / "report.json").read_text())["fingerprint"] == report["fingerprint"]
    partial = json.loads((out / "report.partial.json").read_text())
    assert partial["status"] == "interrupted" and partial.get("fingerprint") != report["fingerprint"]
    assert partial.get("stage") == (None if stage == "publish" else stage)
    assert partial["error"].endswith("while publishing the result" if stage == "publish" else f"the {stage} stage")
    # The next run finishes what was cut and publishes the new result whole.
    if stage == "publish":
        again = run(out, *other)
        assert again.returncode == 0, again.stderr[-3000:]
        new = json.loads((out / "report.json").read_text())
        assert new["fingerprint"] == partial["fingerprint"] and new["status"] == "succeeded"
        assert not list(out.glob("*.partial*")) and not (out / "publishing.json").exists()


def test_reruns_keep_the_complete_run_until_theirs_is_complete(quickstart_run, tmp_path, small_folder):
    finished, report, _ = quickstart_run
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    bundle = sorted(p.name for p in (out / "export").iterdir())
    # A rerun that fails (a broken image in the new data) leaves the last complete run in place.
    (small_folder / "Bag" / "broken.png").write_bytes(b"not an image")
    failed = run(out, "--set", f"data.path={small_folder}")
    assert failed.returncode == 1
    assert json.loads((out / "report.json").read_text())["status"] == "succeeded"
    assert json.loads((out / "report.partial.json").read_text())["status"] == "failed"
    assert sorted(p.name for p in (out / "export").iterdir()) == bundle
    # A rerun on other data searches again instead of reusing the old search's best trial.
    (small_folder / "Bag" / "broken.png").unlink()
    again = run(out, "--set", f"data.path={small_folder}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "searching again" in again.stderr and (out / "search.replaced").is_dir()
    second = json.loads((out / "report.json").read_text())
    assert second["dataset"]["num_classes"] == 3 and second["status"] == "succeeded"
    assert (out / "export" / "labels.txt").read_text().split() == ["Bag", "Sneaker", "Trouser"]
    assert not (out / "export.partial").exists() and not (out / "report.partial.json").exists()


def _kill_when(process, ready, timeout=600):
    """Kills `process` with SIGKILL (no cleanup of any kind) once `ready()` is true."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None and not ready():
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    process.kill()
    process.wait(timeout=60)


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _epochs_done(out):
    state = out / "finetune" / "state.json"
    return json.loads(state.read_text())["epochs_done"] if state.exists() else 0


def test_kill_9_during_finetuning_then_the_same_command_continues_from_the_last_epoch(quickstart_run, tmp_path):
    # From a finished run's copy: its search is kept (longer fine-tuning is not a search setting), so
    # the first command goes straight to the fine-tuning that is killed.
    out = tmp_path / "run"
    shutil.copytree(quickstart_run[0], out)
    shutil.rmtree(out / "finetune")  # its epochs would count as this run's before it starts
    # Two files, not four: the export is what the last kill needs, not every quantization.
    longer = ["--set", "finetune.epochs=6", "--set", "finetune.patience=20", "--set", "export.quantizations=[float32,int8]"]
    command = [sys.executable, "-m", "automl", "run", "pipelines/quickstart.yaml", "--out", str(out), *FAST, *longer]
    with open(tmp_path / "first.log", "w") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log)
        _kill_when(process, lambda: _epochs_done(out) >= 2)
    killed_at = _epochs_done(out)
    assert 2 <= killed_at < 6
    searched = json.loads((out / "report.partial.json" if (out / "report.partial.json").exists()
                           else out / "report.json").read_text())["timings"]["search"]

    again = run(out, *longer)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "search    trial " not in again.stderr, "the finished search ran again"
    assert f"resuming after epoch {killed_at}" in again.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["finetune"]["resumed_from_epoch"] == killed_at
    assert report["finetune"]["epochs_run"] == 6 and len(report["finetune"]["history"]["loss"]) == 6
    assert report["timings"]["search"] >= searched, "timings count every invocation"
    bundle = _files(out / "export")

    # Killed during an export with other settings: the last complete bundle and report stay.
    with open(tmp_path / "third.log", "w") as log:
        process = subprocess.Popen([*command, "--set", "export.quantizations=[float32]"], cwd=REPO,
                                   stdout=log, stderr=log)
        _kill_when(process, lambda: (out / "export.partial").exists())
    assert json.loads((out / "report.json").read_text()) == report
    assert _files(out / "export") == bundle


def test_the_report_reads_well_in_chromium(quickstart_run):
    from tests.report_browser import assert_report_reads_well

    out, report, _ = quickstart_run
    seen = assert_report_reads_well(out, "image_classification", ("Per class", "Confusion matrix", "Search trials",
                                                                  "Fine-tuning learning curves"))
    text = seen["text"]
    # One confusion matrix at a time: the Keras model's, and a button for each file.
    assert all(f"model_{q}.tflite" in text for q in ("float32", "int8"))
    assert text.count("true \\ predicted") == 1
    assert report["run"]["command"].startswith("automl run pipelines/quickstart.yaml")
    assert "automl run pipelines/quickstart.yaml" in text and "Ankle_boot" in text
