"""The run directory keeps the last complete result until a new one is complete, and a
search is reused only for the data and settings it ran on."""

import json
import shutil

import numpy as np

from automl.run_dir import Recorder, data_fingerprint, prepare_search_dir


def test_a_failed_run_does_not_replace_the_last_complete_report(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"status": "succeeded"}))
    recorder = Recorder(tmp_path, {"status": "failed", "timings": {}})
    report_path, html_path = recorder.publish(complete=False)
    assert report_path.name == "report.partial.json" and html_path.name == "report.partial.html"
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "succeeded"
    recorder = Recorder(tmp_path, {"status": "succeeded", "timings": {}})
    assert recorder.publish(complete=True)[0].name == "report.json"
    assert not (tmp_path / "report.partial.json").exists()


def test_data_fingerprint_follows_the_data(tmp_path, small_folder):
    before = data_fingerprint(str(small_folder))
    assert data_fingerprint(str(small_folder)) == before
    shutil.copy(next((small_folder / "Bag").glob("*.png")), small_folder / "Bag" / "extra.png")
    assert data_fingerprint(str(small_folder)) != before
    arrays = (np.zeros((4, 8, 8)), np.array(["a", "b", "a", "b"]))
    assert data_fingerprint(".", arrays) != data_fingerprint(".", (arrays[0] + 1, arrays[1]))


def test_a_search_of_other_data_is_moved_aside(tmp_path):
    prepare_search_dir(tmp_path, "aaa")
    (tmp_path / "search" / "trial.json").write_text("{}")
    prepare_search_dir(tmp_path, "aaa")
    assert (tmp_path / "search" / "trial.json").exists()
    prepare_search_dir(tmp_path, "bbb")
    assert not (tmp_path / "search" / "trial.json").exists()
    assert (tmp_path / "search.replaced" / "trial.json").exists()
