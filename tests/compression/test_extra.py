"""Compression needs the extra automl[compression]: without it a run stops before any work."""

import importlib.util

import pytest

from automl.compression import require_tfmot
from automl.errors import ConfigError


def _without_tfmot(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr("automl.compression.find_spec",
                        lambda name: None if name == "tensorflow_model_optimization" else real(name))


def test_compression_without_tfmot_is_refused_naming_the_key_and_the_install(monkeypatch):
    _without_tfmot(monkeypatch)
    with pytest.raises(ConfigError) as refused:
        require_tfmot(["prune_qat"])
    assert "export.compression: prune_qat" in str(refused.value)
    assert "pip install 'automl[compression]'" in str(refused.value)
    require_tfmot([])  # no technique asked for: nothing to install


def test_a_run_asking_for_compression_stops_before_any_work(monkeypatch, sample_dir, tmp_path):
    import automl

    _without_tfmot(monkeypatch)
    with pytest.raises(ConfigError, match="tensorflow-model-optimization"):
        automl.fit(str(sample_dir), task="image_classification", output=str(tmp_path / "run"),
                   export={"compression": "qat"})
    assert not (tmp_path / "run").exists()
