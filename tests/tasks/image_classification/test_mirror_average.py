"""Averaging over the mirror image: chosen on validation, exact in Keras, the same on LiteRT."""

import keras
import numpy as np
import pytest

from automl.tasks.image_classification.mirror_average import choose_mirror_average, with_mirror_average

SHARPNESS = 8.0


def left_pixel_model():
    """1x2 images [a, b]: P(class 1) = sigmoid(k (a - 0.5)), so it looks at the left pixel only.
    Averaged with its mirror it says class 1 exactly when a + b > 1."""
    inputs = keras.Input((1, 2, 1))
    dense = keras.layers.Dense(2, activation="softmax")
    outputs = dense(keras.layers.Flatten()(inputs))
    dense.set_weights([np.array([[0.0, SHARPNESS], [0.0, 0.0]], "float32"),
                       np.array([SHARPNESS / 2, 0.0], "float32")])
    return keras.Model(inputs, outputs, name="left_pixel")


@pytest.fixture(scope="module")
def pixels():
    return np.random.default_rng(0).uniform(0, 1, (400, 1, 2, 1)).astype("float32")


def test_the_average_is_the_mean_over_the_image_and_its_mirror(pixels, tmp_path):
    model = left_pixel_model()
    expected = (model.predict(pixels, verbose=0) + model.predict(pixels[:, :, ::-1], verbose=0)) / 2
    averaged = with_mirror_average(model)
    np.testing.assert_allclose(averaged.predict(pixels, verbose=0), expected, atol=1e-6)
    averaged.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(pixels, verbose=0), expected, atol=1e-6)


def test_auto_keeps_the_average_only_when_validation_accuracy_rises(pixels):
    model = left_pixel_model()
    symmetric_labels = (pixels[:, 0, 0, 0] + pixels[:, 0, 1, 0] > 1).astype(int)
    chosen, note = choose_mirror_average(model, pixels, symmetric_labels, "auto", trained_with_flips=True)
    assert note["used"] and chosen is not model
    assert note["validation_accuracy_averaged"] == 1.0 > note["validation_accuracy"]

    # One image fixed and none broken, while the log loss rises: the model that needs one pass stays.
    plain_right = model.predict(pixels, verbose=0).argmax(-1) == symmetric_labels
    picked = np.concatenate([np.flatnonzero(plain_right)[:50], np.flatnonzero(~plain_right)[:1]])
    chosen, note = choose_mirror_average(model, pixels[picked], symmetric_labels[picked], "auto",
                                         trained_with_flips=True)
    assert (note["validation_fixed"], note["validation_broken"]) == (1, 0)
    assert note["log_loss_gain_in_standard_errors"] < 0
    assert not note["used"] and chosen is model

    # No answer changes, but every one grows surer of the right class (the right pixel says class 1
    # more clearly than the left): a gain that counting answers cannot see, and log loss can.
    surer = (pixels[:, 0, 0, 0] > 0.5) & (pixels[:, 0, 1, 0] > pixels[:, 0, 0, 0])
    chosen, note = choose_mirror_average(model, pixels[surer], symmetric_labels[surer], "auto",
                                         trained_with_flips=True)
    assert (note["validation_fixed"], note["validation_broken"]) == (0, 0)
    assert note["log_loss_gain_in_standard_errors"] > 2 and note["used"] and chosen is not model

    left_labels = (pixels[:, 0, 0, 0] > 0.5).astype(int)  # a mirror image answers another question
    chosen, note = choose_mirror_average(model, pixels, left_labels, "auto", trained_with_flips=True)
    assert not note["used"] and chosen is model
    assert note["validation_accuracy"] == 1.0 > note["validation_accuracy_averaged"]


def test_no_flips_in_training_or_a_false_setting_keeps_the_model(pixels):
    model = left_pixel_model()
    labels = (pixels[:, 0, 0, 0] + pixels[:, 0, 1, 0] > 1).astype(int)
    for setting, flips in (("auto", False), (False, True)):
        chosen, note = choose_mirror_average(model, pixels, labels, setting, trained_with_flips=flips)
        assert chosen is model and not note["used"]
    chosen, note = choose_mirror_average(model, pixels[:0], labels[:0], True, trained_with_flips=False)
    assert note["used"] and chosen is not model  # true asks for it, with or without validation


def test_the_averaged_model_runs_on_litert_with_builtin_ops(tmp_path):
    from automl.convert import convert_tflite, export_saved_model, tflite_ops
    from automl.verify import LiteRTModel

    rng = np.random.default_rng(1)
    inputs = keras.Input((12, 10, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    averaged = with_mirror_average(keras.Model(inputs, outputs, name="conv"))
    images = rng.uniform(0, 255, (16, 12, 10, 1)).astype("float32")
    export_saved_model(averaged, tmp_path / "saved_model")
    representative = lambda: ([images[i:i + 1]] for i in range(len(images)))  # noqa: E731
    expected = averaged.predict(images, verbose=0)
    for quantization, tolerance in (("float32", 1e-5), ("int8", 0.05)):
        path = tmp_path / f"{quantization}.tflite"
        path.write_bytes(convert_tflite(tmp_path / "saved_model", quantization, representative, allow_flex=False))
        ops = tflite_ops(path.read_bytes())
        assert "REVERSE_V2" in ops and not [op for op in ops if "Flex" in op], ops
        outputs = LiteRTModel(path).predict(images)
        assert np.abs(outputs - expected).max() < tolerance, quantization
