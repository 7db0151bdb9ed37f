"""IoU, Dice and pixel accuracy against counts worked out by hand."""

import numpy as np
import pytest

from automl.tasks.image_segmentation.metrics import segmentation_metrics
from automl.scorer import argmax_agreement


def one_hot(classes, k):
    return np.eye(k)[classes]


def test_metrics_match_hand_counts():
    truth = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]])
    predicted = np.array([[[0, 1, 1, 1], [0, 0, 0, 1]]])
    m = segmentation_metrics(truth, one_hot(predicted, 3), 3)
    # class 0: TP 3, FP 1, FN 1 -> IoU 3/5; class 1: same; class 2 absent everywhere
    assert m["per_class_iou"] == [0.6, 0.6, None]
    assert m["mean_iou"] == pytest.approx(0.6)
    assert m["per_class_dice"] == [0.75, 0.75, None]
    assert m["dice"] == pytest.approx(0.75)
    assert m["pixel_accuracy"] == pytest.approx(6 / 8)
    assert m["confusion_matrix"] == [[3, 1, 0], [1, 3, 0], [0, 0, 0]]


def test_a_class_predicted_but_never_true_scores_zero():
    truth = np.zeros((1, 2, 2), int)
    predicted = np.array([[[0, 1], [0, 0]]])
    m = segmentation_metrics(truth, one_hot(predicted, 2), 2)
    assert m["per_class_iou"] == [0.75, 0.0]
    assert m["mean_iou"] == pytest.approx(0.375)


def test_pixel_agreement():
    a = one_hot(np.array([[0, 1], [1, 1]]), 2)
    b = one_hot(np.array([[0, 1], [0, 1]]), 2)
    assert argmax_agreement(a, b) == 0.75  # per pixel
