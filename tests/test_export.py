import keras
import numpy as np
import pytest

from automl.convert import convert_tflite, tflite_ops
from automl.errors import ExportError
from automl.verify import LiteRTModel, verify_exports
from automl.tasks.base import Task
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


class _DeterminantTask(Task):
    """The least a task gives the export stage: calibration inputs of the model's shape."""

    def representative_inputs(self, data, count, seed, hp=None):
        return np.random.default_rng(seed).normal(size=(count, 3, 3)).astype(np.float32)


def test_the_export_row_counts_the_flex_ops_in_the_converted_file(tmp_path):
    from automl.config.loader import config_from_mapping
    from automl.export import export_models
    from tests.helpers import flex_ops_in

    inputs = keras.Input((3, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: keras.ops.linalg.det(x))(inputs))
    config = config_from_mapping({"task": "image_classification", "data": {"path": "."},
                                  "export": {"formats": ["tflite"], "quantizations": ["float32"],
                                             "allow_flex_ops": True}})
    rows, _ = export_models(model, _DeterminantTask(), None, config, tmp_path)
    assert flex_ops_in(rows[0]) == ["FlexMatrixDeterminant"]


def pixel_classifier(channels: int):
    """A tiny classifier of 8x8 images given as pixels 0..255 (it scales them itself)."""
    inputs = keras.Input((8, 8, channels))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_int8_io_is_quantized_and_litert_dequantizes(tmp_path):
    rng = np.random.default_rng(0)
    model = pixel_classifier(channels=1)
    samples = rng.uniform(0, 255, (32, 8, 8, 1)).astype(np.float32)
    content = convert_tflite(saved(model, tmp_path), "int8", lambda: ([s[None]] for s in samples), False)
    assert "CONV_2D" in tflite_ops(content)
    (tmp_path / "m.tflite").write_bytes(content)
    lite = LiteRTModel(tmp_path / "m.tflite")
    assert lite.input["dtype"] == np.int8
    out = lite.predict(samples)
    np.testing.assert_allclose(out, model.predict(samples, verbose=0), atol=0.05)


def test_a_uint8_input_reads_raw_pixels_whatever_range_calibration_saw(tmp_path):
    """Calibrated on images in 10..200 only, the uint8 file still takes pixels 0..255 as they are
    (scale 1, zero point 0), as MediaPipe hands them, and answers as Keras does on raw pixels."""
    rng = np.random.default_rng(1)
    model = pixel_classifier(channels=3)
    calibration = rng.uniform(10, 200, (32, 8, 8, 3)).astype(np.float32)
    content = convert_tflite(saved(model, tmp_path), "int8", lambda: ([s[None]] for s in calibration), False,
                             int8_io=("uint8", "uint8"))
    (tmp_path / "m.tflite").write_bytes(content)
    lite = LiteRTModel(tmp_path / "m.tflite")
    assert lite.input["dtype"] == np.uint8 and lite.input["quantization"] == (1.0, 0)
    assert lite.output["dtype"] == np.uint8
    pixels = np.round(rng.uniform(10, 200, (64, 8, 8, 3))).astype(np.float32)
    np.testing.assert_allclose(lite.predict(pixels), model.predict(pixels, verbose=0), atol=0.05)


def _class_zero_file(tmp_path):
    """A .tflite "model" that predicts class 0 for everything."""
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant([5.0, 0.0]))(inputs)
    path = saved(keras.Model(inputs, outputs), tmp_path)
    (tmp_path / "m.tflite").write_bytes(convert_tflite(path, "float32", None, False))
    return str(tmp_path / "m.tflite")


def test_the_gate_leaves_out_a_file_that_lost_accuracy_beyond_the_noise(tmp_path):
    task = ImageClassification()
    model_file = _class_zero_file(tmp_path)
    y = np.array([0, 1] * 100)  # the Keras model is right on all 200; the file on half of them
    keras_out = np.eye(2)[y]
    rows = [{"path": model_file, "format": "tflite", "quantization": "int8", "bytes": 1}]
    rejected = verify_exports(rows, task, None, np.zeros((200, 2), np.float32), y, keras_out,
                              task.evaluate(y, keras_out, None), gate=0.02)
    assert rows[0]["test_metrics"]["accuracy"] == 0.5 and rows[0]["vs_keras"]["agreement"] == 0.5
    assert rejected == rows and "int8_accuracy_gate=0.02 plus 1.64 x" in rows[0]["rejected"]
    assert 0.02 < rows[0]["gate"]["noise"] < 0.05  # sqrt(100) / 200 = 0.035


def test_a_loss_within_the_noise_of_a_small_split_keeps_the_file(tmp_path):
    """3 of 150 test images: 0.02 below Keras is a tie at this split size, not a verdict."""
    task = ImageClassification()
    model_file = _class_zero_file(tmp_path)
    y = np.array([0] * 147 + [1] * 3)
    keras_out = np.eye(2)[y]
    rows = [{"path": model_file, "format": "tflite", "quantization": "int8", "bytes": 1}]
    rejected = verify_exports(rows, task, None, np.zeros((150, 2), np.float32), y, keras_out,
                              task.evaluate(y, keras_out, None), gate=0.01)
    assert rows[0]["drop_vs_keras"] == 0.02 and rejected == []
    assert rows[0]["gate"]["limit"] > 0.02


def test_a_compressed_file_is_held_to_its_own_gate(tmp_path):
    """The same loss passes the int8 gate and fails export.compression.accuracy_gate."""
    task = ImageClassification()
    model_file = _class_zero_file(tmp_path)
    y = np.array([0] * 2900 + [1] * 100)  # the file misses the 100 of class 1: 0.0333 below Keras
    keras_out = np.eye(2)[y]
    plain = {"path": model_file, "format": "tflite", "quantization": "int8", "bytes": 1}
    pruned = {**plain, "compression": "prune_qat",
              "accuracy_gate": {"value": 0.01, "key": "export.compression.accuracy_gate"}}
    rejected = verify_exports([plain, pruned], task, None, np.zeros((3000, 2), np.float32), y, keras_out,
                              task.evaluate(y, keras_out, None), gate=0.05)
    assert rejected == [pruned] and "rejected" not in plain
    assert pruned["rejected"].startswith("int8 prune_qat accuracy 0.9667")
    assert "export.compression.accuracy_gate=0.01 plus" in pruned["rejected"]
