"""The whole pipeline on the shipped real sample, as a user runs it."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO

FAST = ["--set", "search.max_trials=2", "--set", "search.epochs=2", "--set", "finetune.epochs=4",
        "--set", "export.int8_accuracy_gate=0.05"]


def run(out, *extra, pipeline="pipelines/quickstart.yaml"):
    return subprocess.run([sys.executable, "-m", "automl", "run", pipeline, "--out", str(out), *FAST, *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick") / "run"
    result = run(out)
    assert result.returncode == 0, result.stderr[-4000:]
    return out, json.loads((out / "report.json").read_text()), result.stderr


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


def test_every_tflite_was_verified_on_litert(quickstart_run):
    out, report, _ = quickstart_run
    tflite = {e["quantization"]: e for e in report["exports"] if e["format"] == "tflite"}
    assert set(tflite) == {"float32", "float16", "dynamic", "int8"}
    keras_accuracy = report["test_metrics"]["accuracy"]
    for row in tflite.values():
        assert row["bytes"] == (REPO / row["path"]).stat().st_size if not row["path"].startswith("/") else True
        assert row["latency_ms"] > 0 and row["agreement"] >= 0.9
        assert not row["flex_ops"]
    assert tflite["float32"]["test_metrics"]["accuracy"] == pytest.approx(keras_accuracy, abs=0.01)
    assert tflite["int8"]["bytes"] <= 0.35 * tflite["float32"]["bytes"]


def test_bundle_files(quickstart_run):
    out, report, _ = quickstart_run
    export = out / "export"
    assert (export / "labels.txt").read_text().splitlines()[0] == "Ankle_boot"
    meta = json.loads((export / "metadata.json").read_text())
    assert meta["input"]["shape"] == [None, 28, 28, 1]
    assert meta["int8_io"]["input"]["dtype"] == "int8"
    assert meta["versions"]["tensorflow"]
    assert (export / "model.keras").exists() and (export / "saved_model" / "saved_model.pb").exists()


def test_html_report_and_progress(quickstart_run):
    out, report, stderr = quickstart_run
    page = (out / "report.html").read_text()
    for heading in ("Search trials", "Exports", "Confusion matrix", "Sample test predictions", "learning curves"):
        assert heading in page
    assert page.count("data:image/png;base64,") >= 3
    assert "trial" in stderr and "epoch 1/" in stderr and "time left" in stderr


def test_rerun_resumes_the_search(quickstart_run):
    out, report, _ = quickstart_run
    again = run(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Reloading Tuner" in again.stdout + again.stderr
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
    assert report["best"]["family"] == family and int8["test_metrics"]["accuracy"] > 0.1
