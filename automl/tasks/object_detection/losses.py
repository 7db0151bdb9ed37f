"""The detector's training loss: anchors matched to the true boxes inside the graph, then focal loss on
the classes and a Huber loss on the box regressions of the matched anchors (RetinaNet's).

Matching in the loss, not in the data pipeline, keeps the targets what the data holds (each image's
boxes and classes, padded), so augmentation only has to move boxes. An anchor is positive for the box
it overlaps most when the IoU is at least `POSITIVE_IOU`, ignored between `NEGATIVE_IOU` and that,
and background below; every true box also claims its best anchor, so a box no anchor fits well still
trains one.
"""

from __future__ import annotations

from automl.tasks.object_detection.anchors import encode, iou

POSITIVE_IOU = 0.5
NEGATIVE_IOU = 0.4
FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
HUBER_DELTA = 1.0


def match(anchors, boxes, classes):
    """(matched box per anchor (B, A, 4), its class (B, A), positive (B, A), counted (B, A)): counted
    anchors are positive or background (not ignored)."""
    from keras import ops

    valid = classes >= 0  # (B, M)
    overlaps = iou(ops.convert_to_tensor(anchors, dtype="float32")[None], boxes)  # (B, A, M)
    overlaps = ops.where(valid[:, None, :], overlaps, -1.0)
    best_box = ops.argmax(overlaps, axis=-1)  # (B, A)
    best_iou = ops.max(overlaps, axis=-1)
    # Each true box's own best anchor is positive for that box.
    best_anchor = ops.argmax(overlaps, axis=1)  # (B, M)
    claimed = ops.one_hot(best_anchor, ops.shape(overlaps)[1], axis=1) * ops.cast(valid[:, None, :], "float32")
    forced = ops.max(claimed, axis=-1) > 0  # (B, A)
    best_box = ops.where(forced, ops.argmax(claimed, axis=-1), best_box)
    positive = ops.logical_or(best_iou >= POSITIVE_IOU, forced)
    counted = ops.logical_or(positive, best_iou < NEGATIVE_IOU)
    matched_boxes = ops.take_along_axis(boxes, best_box[..., None], axis=1)
    matched_classes = ops.take_along_axis(classes, best_box, axis=1)
    return matched_boxes, matched_classes, positive, counted


def detection_loss():
    """A Keras loss of (targets (B, M, 5): box and class, -1 padding; outputs (B, A, 8 + classes):
    regressions, the anchors themselves (`head.with_anchors`) and class logits), per image,
    normalized by its positive anchors. It needs nothing of the data: the anchors come with the outputs."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="automl")
    def detection_loss(y_true, y_pred):
        boxes, classes = y_true[..., :4], ops.cast(y_true[..., 4], "int32")
        anchors, logits = y_pred[0, :, 4:8], y_pred[..., 8:]
        matched_boxes, matched_classes, positive, counted = match(anchors, boxes, classes)
        positive_f, counted_f = ops.cast(positive, "float32"), ops.cast(counted, "float32")
        targets = ops.one_hot(ops.maximum(matched_classes, 0), ops.shape(logits)[-1]) * positive_f[..., None]
        probability = ops.sigmoid(logits)
        # Binary cross-entropy from logits, elementwise (Keras's own averages over the last axis).
        cross_entropy = ops.maximum(logits, 0) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))
        p_t = targets * probability + (1 - targets) * (1 - probability)
        alpha = targets * FOCAL_ALPHA + (1 - targets) * (1 - FOCAL_ALPHA)
        focal = ops.sum(alpha * (1 - p_t) ** FOCAL_GAMMA * cross_entropy, axis=-1) * counted_f
        wanted = encode(matched_boxes, anchors[None])
        error = ops.abs(y_pred[..., :4] - wanted)
        huber = ops.where(error < HUBER_DELTA, 0.5 * error ** 2, HUBER_DELTA * (error - 0.5 * HUBER_DELTA))
        box = ops.sum(huber, axis=-1) * positive_f
        positives = ops.maximum(ops.sum(positive_f, axis=-1), 1.0)
        return (ops.sum(focal, axis=-1) + ops.sum(box, axis=-1)) / positives

    return detection_loss
