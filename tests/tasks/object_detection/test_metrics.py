"""COCO metrics of detections: perfect ones score 1, a box a third off scores nothing at IoU 0.5,
missed boxes lower recall."""

import numpy as np
import pytest

pytest.importorskip("pycocotools")

from automl.tasks.object_detection.metrics import coco_metrics  # noqa: E402

TRUE = np.array([[[0.1, 0.1, 0.4, 0.5], [0.5, 0.5, 0.9, 0.8], [0, 0, 0, 0]],
                 [[0.2, 0.3, 0.6, 0.7], [0, 0, 0, 0], [0, 0, 0, 0]]], dtype=np.float32)
CLASSES = np.array([[0, 1, -1], [1, -1, -1]])


def _score(boxes, classes, scores, counts):
    return coco_metrics(TRUE, CLASSES, boxes, classes, scores, counts, ["cat", "dog"], 128)


def test_perfect_detections_score_one_and_each_class_is_scored():
    metrics = _score(TRUE, np.maximum(CLASSES, 0), np.full((2, 3), 0.9), np.array([2, 1]))
    assert metrics["map"] == pytest.approx(1.0) and metrics["ap50"] == pytest.approx(1.0)
    assert set(metrics["per_class"]) == {"cat", "dog"} and metrics["boxes"] == 3
    assert metrics["pr_curve_iou50"]["precision"][0] == pytest.approx(1.0)


def test_a_shifted_box_and_a_missed_one_lower_the_scores():
    boxes = TRUE.copy()
    boxes[0, 0] += np.array([0.0, 0.15, 0.0, 0.15])  # IoU 0.45 with its true box
    metrics = _score(boxes, np.maximum(CLASSES, 0), np.full((2, 3), 0.9), np.array([1, 1]))
    # Image 0 returns one detection: the shifted cat; its dog is missed, image 1's is found.
    assert metrics["per_class"]["cat"]["ap50"] == 0.0
    assert metrics["per_class"]["dog"]["ap50"] == pytest.approx(0.505, abs=0.01)
    assert metrics["map"] < 0.6
    nothing = _score(boxes, np.maximum(CLASSES, 0), np.full((2, 3), 0.9), np.array([0, 0]))
    assert nothing["map"] == 0.0


def _one_box(box, score=0.9, cls=1):
    """One image's four outputs holding one detection (y_min, x_min, y_max, x_max relative)."""
    return {"detection_boxes": np.array([[box]], np.float32), "detection_classes": np.array([[cls]], np.float32),
            "detection_scores": np.array([[score]], np.float32), "num_detections": np.array([1], np.float32)}


def test_mediapipes_whole_pixel_boxes_match_within_a_hair_of_a_whole_pixel():
    from automl.tasks.object_detection.scorer import match_detections

    keras_box = np.array([41.0, 53.38, 73.93, 114.47]) / 128  # y_min on a whole pixel
    # MediaPipe truncates corner and size; its y_min read 40.99999 (float arithmetic of another runtime).
    hair = dict(_one_box(np.array([40.0, 53.0, 72.0, 114.0]) / 128), pixel_grid=np.array([[128.0, 128.0]]))
    found = match_detections(_one_box(keras_box), hair)
    assert found["matched_share"] == 1.0 and found["min_matched_iou"] == 1.0, found
    # A whole pixel off where the value was not near one is a difference, and is shown as one.
    # (its height 32.93 truncates to 32, not 31).
    off = dict(_one_box(np.array([40.0, 53.0, 71.0, 114.0]) / 128), pixel_grid=np.array([[128.0, 128.0]]))
    found = match_detections(_one_box(keras_box), off)
    assert found["matched_share"] == 1.0 and found["min_matched_iou"] < 0.99, found
