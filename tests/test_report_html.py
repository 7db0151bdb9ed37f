"""The HTML report shows what the search decided on its own."""

from automl.report.html import write_html_report


def test_the_search_notes_are_in_the_html_report(tmp_path):
    note = "4 new trial(s) of the 6 search.max_trials plans: an epoch of the first took 32s"
    report = {"status": "succeeded", "task": "object_detection", "search": {"notes": [note]}}
    write_html_report(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "Search notes" in page and note in page


def test_a_failed_download_reads_as_its_cause_without_the_address():
    """A family's reason in the report was Keras's whole exception, URL and errno included."""
    from automl.families.base import download_failure

    offline = Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
                        "mobilenet_v2/x.h5: None -- [Errno -3] Temporary failure in name resolution")
    assert download_failure(offline) == "no network: temporary failure in name resolution"
    assert download_failure(OSError("HTTP Error 403: Forbidden")) == "HTTP Error 403: Forbidden"


def test_values_read_as_people_read_them_never_as_json(tmp_path):
    from automl.readable import number, phrase, plural

    assert [number(v) for v in (1674046, 0.87333, 14.9, 4.0, 1.2e-05, None, True)] == [
        "1,674,046", "0.8733", "14.9", "4", "1.20e-05", "-", "yes"]
    assert phrase({"train": 700, "val": 150}) == "train 700, val 150" and phrase([]) == "none"
    assert plural(1, "family", "families") == "1 family" and plural(3, "family", "families") == "3 families"
    report = {"status": "failed", "task": "image_classification", "name": "image_classification",
              "error": "DataError: first line\nTraceback (most recent call last):\n  more",
              "dataset": {"split_sizes": {"train": 700, "val": 150, "test": 150}, "skipped_files": []},
              "timings": {"total_seconds": 14.9, "data": 0.2}}
    write_html_report(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "<h1>Image classification</h1>" in page  # an API run was titled image_classification (image_classification)
    assert "DataError: first line" in page and "Traceback" not in page
    assert "train 700 · val 150 · test 150" in page and '{"' not in page and "14.9000" not in page


def test_the_report_names_the_file_the_model_card_tells_apps_to_ship(tmp_path):
    """The smallest file MediaPipe ran (the card's choice), not merely the smallest kept; without
    MediaPipe (forecasters), the smallest file kept."""
    ran = {"vs_keras": {"agreement": 1.0}}
    rows = [{"path": "/x/model_int4.tflite", "format": "tflite", "bytes": 90_000, "mediapipe": {"error": "no"}},
            {"path": "/x/model_int8.tflite", "format": "tflite", "bytes": 200_000, "mediapipe": ran},
            {"path": "/x/model_float32.tflite", "format": "tflite", "bytes": 700_000, "mediapipe": ran}]
    report = {"status": "succeeded", "task": "image_classification", "exports": rows}
    write_html_report(report, tmp_path / "report.html")
    assert "model_int8.tflite</div><div class='note'>the smallest file MediaPipe ran" in (tmp_path / "report.html").read_text()
    report["exports"] = [{k: v for k, v in row.items() if k != "mediapipe"} for row in rows]
    write_html_report(report, tmp_path / "report.html")
    assert "model_int4.tflite</div><div class='note'>the smallest file kept" in (tmp_path / "report.html").read_text()
