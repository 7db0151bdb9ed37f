"""Reading a finished run back for `automl export`: clear errors for what is not one."""

import json

import pytest

from automl.errors import DataError
from automl.finished_run import _finetuned_weights, load_finished_run, next_export_dir


def test_what_is_not_a_finished_run_is_named(tmp_path):
    with pytest.raises(DataError, match=r"report.json not found: .* is not a finished automl run directory"):
        load_finished_run(tmp_path)
    (tmp_path / "report.json").write_text(json.dumps({"status": "interrupted"}))
    (tmp_path / "pipeline.yaml").write_text("task: image_classification\n")
    with pytest.raises(DataError, match="status is 'interrupted'; re-export needs a run that succeeded"):
        load_finished_run(tmp_path)


def test_the_weights_fine_tuning_kept_are_found(tmp_path):
    for folder in ("finetune", "finetune_second"):
        (tmp_path / folder).mkdir()
    (tmp_path / "finetune" / "best.weights.h5").write_bytes(b"")
    assert _finetuned_weights(tmp_path, {"finetune": {}}) == tmp_path / "finetune" / "best.weights.h5"
    (tmp_path / "finetune" / "model.weights.h5").write_bytes(b"")
    assert _finetuned_weights(tmp_path, {"finetune": {}}) == tmp_path / "finetune" / "model.weights.h5"
    second = {"finetune": {"kept": "b/0002", "compared": [{"trial_id": "a/0001"}, {"trial_id": "b/0002"}]}}
    with pytest.raises(DataError, match="finetune_second: neither model.weights.h5 nor best.weights.h5"):
        _finetuned_weights(tmp_path, second)
    with pytest.raises(DataError, match="fine-tuning was disabled"):
        _finetuned_weights(tmp_path, {"finetune": {"skipped": True}})
    assert next_export_dir(tmp_path) == tmp_path / "export-2"
    (tmp_path / "export-2").mkdir()
    assert next_export_dir(tmp_path) == tmp_path / "export-3"
