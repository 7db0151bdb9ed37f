"""The tf_keras twin tfmot trains: same layers, wiring and outputs as the Keras 3 model."""

import numpy as np
import pytest

from automl.compression.twin import UnsupportedLayer, check_twin, tf_keras_twin
from automl.errors import ExportError


def small_cnn_classifier():
    import keras

    from automl.families.small_cnn import SmallCNN
    from automl.search import pinned_hyperparameters

    keras.utils.set_random_seed(0)
    hp = pinned_hyperparameters({"width": 8, "depth": 2, "convs_per_block": 2, "dropout": 0.1})
    inputs = keras.Input((28, 28, 1), name="image")
    features = keras.layers.GlobalAveragePooling2D()(SmallCNN().build(hp, inputs, pretrained=False))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Dropout(0.2)(features))
    return keras.Model(inputs, outputs)


def test_the_twin_of_small_cnn_gives_the_same_outputs(sample_dir):
    from tests.helpers import sample_arrays

    images, _ = sample_arrays(sample_dir, per_class=4)
    model = small_cnn_classifier()
    # Moving batch-norm statistics away from their initial values, so a layer that lost them shows.
    for layer in model.layers:
        if "bn" in layer.name:
            layer.moving_mean.assign(np.random.default_rng(0).normal(size=layer.moving_mean.shape))
    twin = tf_keras_twin(model)
    assert type(twin).__module__.startswith("tf_keras")
    assert [layer.name for layer in twin.layers] == [layer.name for layer in model.layers]
    assert check_twin(model, twin, images.astype("float32")[..., None]) < 1e-5


def test_a_layer_without_a_tf_keras_counterpart_is_named():
    import keras

    class Doubling(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Doubling(name="doubling")(inputs)))
    with pytest.raises(UnsupportedLayer, match=r"layer 'doubling' \(Doubling\) has no tf_keras counterpart"):
        tf_keras_twin(model)


def test_a_twin_that_differs_fails_the_check():
    model = small_cnn_classifier()
    twin = tf_keras_twin(model)
    kernel = twin.layers[-1].kernel
    kernel.assign(kernel * np.array([1.0, 3.0, -1.0], "float32"))  # a shift shared by all classes would not show
    with pytest.raises(ExportError, match="differs from it by up to"):
        check_twin(model, twin, np.full((2, 28, 28, 1), 128.0, "float32"))


def test_a_compressed_file_runs_the_mirror_average_the_bundle_runs(sample_dir):
    """The twin wrapped by the task (compression's .tflite files) averages over mirror images exactly
    as the Keras 3 inference model of the other files does."""
    from automl.tasks import get_task
    from automl.tasks.image_classification.mirror_average import with_mirror_average
    from tests.helpers import sample_arrays

    images, _ = sample_arrays(sample_dir, per_class=4)
    images = images.astype("float32")[..., None]
    model = small_cnn_classifier()
    task = get_task("image_classification")
    wrapped = task.inference.tf_keras(tf_keras_twin(model), {"used": True})
    assert task.inference.tf_keras(tf_keras_twin(model), {"used": False}).name == model.name
    averaged = with_mirror_average(model).predict(images, verbose=0)
    assert np.abs(wrapped.predict(images, verbose=0) - averaged).max() < 1e-5
    assert np.abs(model.predict(images, verbose=0) - averaged).max() > 1e-4  # the mirror changed something
