import keras
import numpy as np
import pytest

from automl.export import ExportError, convert_tflite, tflite_ops
from automl.verify import LiteRTModel, verify_exports
from automl.tasks.image_classification.task import ImageClassification


def saved(model, tmp_path):
    path = tmp_path / "sm"
    model.export(str(path), format="tf_saved_model", verbose=False)
    return path


def test_a_model_needing_a_tensorflow_op_fails_naming_it(tmp_path):
    inputs = keras.Input((3, 3))
    outputs = keras.layers.Lambda(lambda x: keras.ops.linalg.det(x))(inputs)
    path = saved(keras.Model(inputs, outputs), tmp_path)
    with pytest.raises(ExportError, match="MatrixDeterminant"):
        convert_tflite(path, "float32", None, allow_flex=False)
    flex = convert_tflite(path, "float32", None, allow_flex=True)
    assert tflite_ops(flex) == ["FlexMatrixDeterminant"]  # the TensorFlow op rides along as a Flex op


def test_int8_io_is_quantized_and_litert_dequantizes(tmp_path):
    rng = np.random.default_rng(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    samples = rng.uniform(0, 255, (32, 8, 8, 1)).astype(np.float32)
    content = convert_tflite(saved(model, tmp_path), "int8", lambda: ([s[None]] for s in samples), False)
    assert "CONV_2D" in tflite_ops(content)
    (tmp_path / "m.tflite").write_bytes(content)
    lite = LiteRTModel(tmp_path / "m.tflite")
    assert lite.input["dtype"] == np.int8
    out = lite.predict(samples)
    np.testing.assert_allclose(out, model.predict(samples, verbose=0), atol=0.05)


def test_int8_gate_fails_a_model_that_lost_accuracy(tmp_path):
    task = ImageClassification()
    # A "model" whose file predicts class 0 for everything, against a Keras model that was right.
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant([5.0, 0.0]))(inputs)
    path = saved(keras.Model(inputs, outputs), tmp_path)
    (tmp_path / "m.tflite").write_bytes(convert_tflite(path, "float32", None, False))
    x = np.zeros((10, 2), np.float32)
    y = np.array([0] * 5 + [1] * 5)
    keras_out = np.eye(2)[y]
    rows = [{"path": str(tmp_path / "m.tflite"), "format": "tflite", "quantization": "int8", "bytes": 1}]
    failures = verify_exports(rows, task, x, y, keras_out, task.evaluate(y, keras_out), gate=0.02)
    assert rows[0]["test_metrics"]["accuracy"] == 0.5 and rows[0]["agreement"] == 0.5
    assert len(failures) == 1 and "int8_accuracy_gate=0.02" in failures[0]
