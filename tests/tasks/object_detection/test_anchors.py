"""Anchors sized from the boxes, laid in the head's order; regressions round-trip; matching gives every
true box an anchor."""

import numpy as np
from keras import ops

from automl.tasks.object_detection.anchors import decode, encode, plan_anchors
from automl.tasks.object_detection.losses import match


def test_the_finest_anchor_is_the_small_boxes_side_and_tall_boxes_add_a_ratio():
    rng = np.random.default_rng(0)
    sides = rng.uniform(0.1, 0.4, 200)
    boxes = np.stack([np.full(200, 0.1), np.full(200, 0.1), 0.1 + sides, 0.1 + sides], 1)
    plan = plan_anchors(boxes, 128)
    assert abs(plan.base_side - np.percentile(sides * 128, 10)) < 1e-3 and plan.aspect_ratios == (1.0,)
    assert plan.anchors(128).shape == ((16 * 16 + 8 * 8 + 4 * 4) * 3, 4)
    tall = boxes.copy()
    tall[:40, 2] = np.minimum(tall[:40, 0] + 3 * sides[:40], 1.0)
    assert plan_anchors(tall, 128).aspect_ratios == (0.5, 1.0)


def test_regressions_round_trip_and_every_true_box_claims_an_anchor():
    plan = plan_anchors(np.array([[0.1, 0.1, 0.3, 0.3]]), 128)
    anchors = plan.anchors(128)
    boxes = np.array([[[0.2, 0.25, 0.5, 0.45], [0.0, 0.0, 0.02, 0.9], [0, 0, 0, 0]]], dtype=np.float32)
    classes = np.array([[3, 1, -1]])
    matched, matched_classes, positive, counted = (ops.convert_to_numpy(t) for t in match(anchors, boxes, classes))
    # The thin box overlaps no anchor by 0.5, yet its best anchor is positive for it.
    assert {1, 3} <= set(matched_classes[0][positive[0]].tolist())
    assert (counted[0] | ~positive[0]).all()
    chosen = np.flatnonzero(positive[0])
    wanted = ops.convert_to_numpy(encode(matched[0, chosen], anchors[chosen]))
    back = ops.convert_to_numpy(decode(wanted, anchors[chosen]))
    np.testing.assert_allclose(back, matched[0, chosen], atol=1e-5)
