"""Compressed exports through the tfmot worker (its own process), re-export of a finished run
without training it again, and two bundles compared."""

import json
import shutil
import zipfile

import numpy as np
import pytest

from automl.config.loader import config_from_mapping

# The worker trains with tfmot, the extra automl[compression] (.ci/run installs it).
pytest.importorskip("tensorflow_model_optimization", reason="pip install 'automl[compression]'")
from tests.helpers import sample_arrays, sample_folder


def tiny_trained(sample_dir, tmp_path, compression: dict):
    """A small_cnn trained briefly on 3 real Fashion-MNIST classes, with its task and data."""
    import keras

    from automl.families.small_cnn import SmallCNN
    from automl.hypermodel import TaskHyperModel
    from automl.search import pinned_hyperparameters
    from automl.tasks import get_task

    config = config_from_mapping({"task": "image_classification", "data": {"path": str(tmp_path)}, "seed": 1,
                                  "export": {"representative_examples": 32, "compression": compression}})
    task = get_task(config.task)
    data = task.load_data(config, arrays=sample_arrays(sample_dir, per_class=40))
    hp = pinned_hyperparameters({"width": 8, "depth": 2, "convs_per_block": 1, "dropout": 0.0, "batch_size": 16,
                                 "augmentation": "none", "learning_rate": 3e-3, "optimizer": "adam",
                                 "head_dropout": 0.0, "label_smoothing": 0.0})
    hypermodel = TaskHyperModel(SmallCNN(), task, data, seed=1)
    model = hypermodel.build(hp)
    task.trainer.compile_model(model, hp, 3e-3)
    task.trainer.fit(model, hp, hypermodel.data, epochs=4)
    keras.utils.set_random_seed(1)
    return config, task, hypermodel.data, hp, model


def test_pruning_with_pruning_preserving_qat_gives_a_sparse_int8_file(sample_dir, tmp_path):
    from automl.compression.stage import compressed_exports, gzip_size
    from automl.verify import LiteRTModel

    config, task, data, hp, model = tiny_trained(
        sample_dir, tmp_path, {"techniques": ["prune_qat"], "sparsity": 0.6, "layer_sparsity": "by_size",
                                "epochs": {"prune": 2, "qat": 1}})
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    [row] = compressed_exports(model, task, data, config, hp, export_dir, tmp_path / "compression",
                               described=task.inference.tflite_metadata(data, hp, config))
    assert "error" not in row, row.get("error")
    path = export_dir / "model_prune_qat_int8.tflite"
    assert row["compression"] == "prune_qat" and row["path"] == str(path)
    assert row["bytes"] == path.stat().st_size and row["gzip_bytes"] == gzip_size(path.read_bytes())
    assert row["sparsity"] >= 0.55, "the pruned kernels keep their zeros through QAT"
    assert [s["stage"] for s in row["stages"]] == ["prune", "prune_qat"]
    assert all(s["distillation"] == 0.5 for s in row["stages"]), "trained toward the model's own answers too"
    assert {"stem_conv (Conv2D)", "predictions (Dense)"} <= set(row["stages"][0]["unpruned_layers"])
    spread = row["stages"][0]["layer_sparsity"]
    assert spread["b1_conv0"] > spread["b0_conv0"], "by_size: the bigger convolution loses more"
    litert = LiteRTModel(path)
    # Fully integer, with the uint8 pixels MediaPipe hands image models, and the labels inside.
    assert np.dtype(litert.input["dtype"]) == np.uint8 and litert.input["quantization"] == (1.0, 0)
    from automl.app_metadata.packing import read_metadata

    assert "labels.txt" in read_metadata(path.read_bytes())[1], "a compressed file carries its metadata too"
    images, labels = task.eval_arrays(data, "test")
    accuracy = task.evaluate(labels, litert.predict(images), data)["accuracy"]
    keras_accuracy = task.evaluate(labels, model.predict(images, verbose=0), data)["accuracy"]
    assert accuracy >= keras_accuracy - 0.15, (accuracy, keras_accuracy)


def test_a_layer_tfmot_cannot_wrap_fails_its_technique_with_the_layer_named(sample_dir, tmp_path):
    import keras

    from automl.compression.stage import compressed_exports

    config, task, data, hp, _ = tiny_trained(sample_dir, tmp_path, {"techniques": ["qat"]})
    inputs = keras.Input(data.image_shape)
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    # RMSNormalization is a Keras 3 layer with no tf_keras counterpart.
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.RMSNormalization(name="rms")(features))
    (tmp_path / "export").mkdir()
    [row] = compressed_exports(keras.Model(inputs, outputs), task, data, config, hp, tmp_path / "export",
                               tmp_path / "compression")
    assert row["rejected"].startswith("compression qat failed")
    assert "layer 'rms' (RMSNormalization) has no tf_keras counterpart" in row["error"]
    assert not (tmp_path / "export" / "model_qat_int8.tflite").exists()


@pytest.mark.slow
def test_a_finished_run_is_reexported_compressed_and_diffed(sample_dir, tmp_path):
    from automl.pipeline import run_pipeline
    from automl.reexport import diff_bundles, reexport

    folder = sample_folder(sample_dir, tmp_path / "images", 40)
    config = config_from_mapping({
        "task": "image_classification", "data": {"path": str(folder)}, "seed": 2,
        "search": {"max_trials": 1, "epochs": 2, "families": ["small_cnn"],
                   "hyperparameters": {"width": 8, "depth": 2}},
        "finetune": {"epochs": 4},
        # Twelve test images: a tight gate would judge noise (one run lost 4 of 12 after one clustering
        # epoch). Half the accuracy still refuses a file the compression broke; its quality is measured on
        # Fashion-MNIST (tests/benchmarks/compression_gates.py).
        "export": {"quantizations": ["float32", "int8"], "representative_examples": 32, "int8_accuracy_gate": 0.5,
                   "compression": {"epochs": {"cluster": 1, "qat": 1}, "accuracy_gate": 0.5}}})
    run = tmp_path / "run"
    report = run_pipeline(config, out_dir=run).report
    assert all(r["compression"] == "none" and r["gzip_bytes"] > 0 for r in report["exports"] if r["format"] == "tflite")
    with zipfile.ZipFile(report["bundle_zip"]) as archive:
        names = archive.namelist()
    assert "export/model_int8.tflite" in names and "export/README.md" in names and "export/model.keras" not in names
    assert "model_int8.tflite" in (run / "export" / "README.md").read_text()
    before = sorted(p.name for p in (run / "export").iterdir())

    new = reexport(run, compression="cluster_qat", clusters=8)
    assert new == run / "export-2" and sorted(p.name for p in (run / "export").iterdir()) == before
    rows = json.loads((new / "report.json").read_text())["exports"]
    clustered = next(r for r in rows if r.get("compression") == "cluster_qat")
    assert clustered["clusters"] <= 8, "at most 8 int8 codes per output channel, counted in the file"
    assert clustered["test_metrics"]["examples"] == 12 and "agreement" in clustered["vs_keras"] and not clustered.get("rejected")
    assert (new / "model_cluster_qat_int8.tflite").exists() and (run / "export-2.zip").exists()

    compared = diff_bundles(run / "export", new)
    assert {r["bundle"] for r in compared} == {"export", "export-2"}
    row = next(r for r in compared if r["compression"] == "cluster_qat")
    assert 0 < row["vs_model_float32_agreement"] <= 1 and row["gzip_bytes"] < row["bytes"]
    float32 = next(r for r in compared if r["bundle"] == "export" and r["file"] == "model_float32.tflite")
    assert float32["vs_model_float32_agreement"] == 1.0

    # docs/compression.md's commands, as written, on this run (its own folder: export-2 is the page's).
    from tests.docs_commands import run_page_commands

    shutil.rmtree(new)
    (run / "export-2.zip").unlink()
    exported, diffed = run_page_commands("compression.md", run, tmp_path / "docs", kinds=("export", "diff"))
    assert "model_prune_qat_int8.tflite" in diffed.stdout


def test_compression_settings_read_as_users_write_them():
    from automl.errors import ConfigError
    from automl.reexport import _with_overrides

    def compression(value):
        return config_from_mapping({"task": "image_classification", "data": {"path": "."},
                                    "export": {"compression": value}}).export.compression

    assert compression("prune_qat").techniques == ["prune_qat"]
    assert compression("none").techniques == [] and compression(["none"]).techniques == []
    assert compression({"techniques": ["cluster"], "clusters": 8}).clusters == 8
    with pytest.raises(ConfigError, match=r"export.compression.techniques.0.*Did you mean 'prune'"):
        compression("prun")
    with pytest.raises(ConfigError, match="export.compression.sparsity"):
        compression({"techniques": ["prune"], "sparsity": 1.5})
    base = config_from_mapping({"task": "image_classification", "data": {"path": "."},
                                "export": {"compression": {"epochs": {"prune": 1}}}})
    changed = _with_overrides(base, ["int8"], "prune_qat", 0.75, "by_size", None)
    assert changed.export.quantizations == ["int8"]
    assert changed.export.compression.techniques == ["prune_qat"] and changed.export.compression.sparsity == 0.75
    assert changed.export.compression.layer_sparsity == "by_size"
    assert changed.export.compression.epochs.prune == 1, "what the run's file said stays"
    assert base.export.compression.techniques == [], "the run's config is not changed"


def test_two_clusters_make_a_file_litert_runs(sample_dir, tmp_path):
    """Counting a clustered file's int8 codes no longer opens it in an interpreter (which aborted
    the worker on two clusters); the file itself runs on LiteRT."""
    from automl.compression.stage import compressed_exports
    from automl.verify import LiteRTModel

    config, task, data, hp, model = tiny_trained(
        sample_dir, tmp_path, {"techniques": ["cluster_qat"], "clusters": 2, "epochs": {"cluster": 1, "qat": 1}})
    (tmp_path / "export").mkdir()
    [row] = compressed_exports(model, task, data, config, hp, tmp_path / "export", tmp_path / "export" / ".compression")
    assert "error" not in row, row.get("error")
    assert row["clusters"] == 2, "two int8 codes per output channel, counted in the file"
    images, _ = task.eval_arrays(data, "test")
    assert LiteRTModel(row["path"]).predict(images[:8]).shape == (8, 3)
    assert not (tmp_path / "export" / ".compression").exists(), "the worker's scratch is removed"
