"""Label smoothing: the training targets are one-hot and the loss softens them by the searched amount."""

import keras_tuner
import numpy as np

from automl.config.loader import config_from_mapping
from automl.tasks import get_task


def _task_and_data(sample_dir):
    config = config_from_mapping({"task": "image_classification", "data": {"path": str(sample_dir)}, "seed": 0})
    task = get_task(config.task)
    return task, task.load_data(config)


def test_targets_are_one_hot_rows_of_the_labels(sample_dir):
    task, data = _task_and_data(sample_dir)
    hp = keras_tuner.HyperParameters()
    task.register_search_space(hp)
    hp.values["augmentation"] = "none"
    _, targets = next(task.train_dataset(hp, data, "val", 8, shuffle=False).as_numpy_iterator())
    assert targets.shape == (8, len(data.class_names))
    np.testing.assert_array_equal(targets.argmax(-1), data.val.labels[:8])
    np.testing.assert_array_equal(targets.sum(-1), np.ones(8))


def test_the_loss_smooths_by_the_searched_amount_and_old_trials_did_not():
    task = get_task("image_classification")
    hp = keras_tuner.HyperParameters()
    task.register_search_space(hp)
    assert hp.get("label_smoothing") == 0.0, "the default does not smooth; the search may"
    hp.values["label_smoothing"] = 0.1
    probs = np.array([[0.97, 0.01, 0.01, 0.01]], dtype="float32")
    target = np.array([[1.0, 0.0, 0.0, 0.0]], dtype="float32")
    smoothed = float(task.loss(hp)(target, probs))
    # 0.1 of the target spread over 4 classes: 0.925 on the label, 0.025 on each other class.
    expected = -(0.925 * np.log(0.97) + 3 * 0.025 * np.log(0.01))
    assert abs(smoothed - expected) < 1e-4
    trial_before_the_choice = keras_tuner.HyperParameters()
    assert abs(float(task.loss(trial_before_the_choice)(target, probs)) + np.log(0.97)) < 1e-5
