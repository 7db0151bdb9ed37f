"""What every task inherits: argmax agreement and warnings when a rule beats the model."""

import numpy as np

from automl.tasks.time_series_forecasting.task import Forecasting
from automl.tasks.image_segmentation.task import ImageSegmentation
from automl.scorer import argmax_agreement


def test_a_baseline_that_beats_the_model_is_named_in_a_warning_in_either_direction():
    # Higher is better (mean IoU): only the rule above the model is named.
    warnings = ImageSegmentation().scorer.baseline_warnings(
        {"mean_iou": 0.70}, {"otsu_threshold": {"mean_iou": 0.74}, "majority_class": {"mean_iou": 0.42}})
    assert len(warnings) == 1 and "otsu_threshold (0.7400)" in warnings[0] and "majority" not in warnings[0]
    # Lower is better (MASE): the best rule comes first.
    warnings = Forecasting().scorer.baseline_warnings(
        {"mase": 1.0}, {"naive": {"mase": 2.0}, "seasonal_naive": {"mase": 0.9}, "seasonal_naive_drift": {"mase": 0.5}})
    assert warnings[0].index("seasonal_naive_drift (0.5000)") < warnings[0].index("seasonal_naive (0.9000)")
    assert "naive (2.0000)" not in warnings[0]
    assert Forecasting().scorer.baseline_warnings({"mase": 0.4}, {"naive": {"mase": 2.0}}) == []


def test_agreement_compares_the_most_probable_class():
    reference = np.eye(3)[[0, 1, 2, 2]]
    outputs = np.eye(3)[[0, 1, 1, 2]] * 0.9
    assert argmax_agreement(reference, outputs) == 0.75


def test_declared_metric_names_are_what_keras_logs():
    """`search.objective` is validated against metric_names: they must match what metrics() logs."""
    from automl.tasks import get_task, task_names

    for name in task_names():
        task = get_task(name)
        logged = [m if isinstance(m, str) else m.name for m in task.metrics()]
        assert tuple(logged) == task.goal.metric_names, name
        assert task.goal.objective in task.goal.search_objectives()


def test_the_task_contract_stays_small():
    """What varies by task comes as an object the task hands over, not as one more name on Task
    (docs/ARCHITECTURE.md lists the 24)."""
    from automl.tasks.base import Task

    public = [name for name in vars(Task) if not name.startswith("_")]
    assert len(public) <= 24, public
