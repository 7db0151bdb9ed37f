import numpy as np

import automl
from tests.helpers import sample_arrays


def test_fit_on_arrays_returns_a_usable_result(sample_dir, tmp_path):
    images, labels = sample_arrays(sample_dir, per_class=60)
    result = automl.fit((images, labels), task="image_classification", output=str(tmp_path / "run"),
                        search={"max_trials": 1, "epochs": 2, "families": ["small_cnn"]},
                        finetune={"epochs": 8}, export={"quantizations": ["float32"]})
    assert result.report["status"] == "succeeded"
    assert result.class_names == ["Bag", "Sneaker", "Trouser"]
    probs = result.predict(images[:5])
    assert probs.shape == (5, 3) and np.allclose(probs.sum(-1), 1, atol=1e-4)
    metrics = result.evaluate()
    assert metrics["accuracy"] == result.report["test_metrics"]["accuracy"] > 0.5
    rows = result.export(tmp_path / "bundle", quantization="int8")
    int8 = next(r for r in rows if r.get("quantization") == "int8")
    assert (tmp_path / "bundle" / "export" / "model_int8.tflite").exists()
    assert int8["vs_keras"]["agreement"] > 0.8
