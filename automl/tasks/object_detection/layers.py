"""The detector's own layers: the anchors beside the raw outputs, and from those to detections inside
the model (decoding and non-maximum suppression).

The exported file must hand apps boxes, not anchor regressions: MediaPipe's
`ObjectDetector` reads four outputs (boxes, classes, scores, count), as
TFLite's own detection post-processing writes them. Everything here is
TensorFlow ops that convert to builtin TFLite ops (Keras's `ops.argmax`
emits a Flex `BitwiseAnd`; none is needed), `tf.math.top_k` and
`tf.image.non_max_suppression_with_scores` (NON_MAX_SUPPRESSION_V5), and no
loop (a `map_fn` over images adds subgraphs; MediaPipe refuses a file with
more than one). Suppression is per image and class in one call: each box is
shifted by twice its (image, class) slot, so no two of them overlap.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras_hub.src.models.retinanet.prediction_head import PredictionHead

from automl.tasks.object_detection.anchors import decode

#: Detections per image the file returns at most (COCO's evaluation reads up to 100).
MAX_DETECTIONS = 50
#: The (anchor, class) pairs kept by score before suppression.
PRE_NMS = 200
IOU_THRESHOLD = 0.5
#: Scores below this are dropped before suppression; apps set their own threshold above it.
SCORE_FLOOR = 0.05
OUTPUT_NAMES = ("detection_boxes", "detection_classes", "detection_scores", "num_detections")


@keras.saving.register_keras_serializable(package="automl")
class Detections(keras.layers.Layer):
    """(B, A, 8 + classes) raw outputs (`WithAnchors`) -> boxes (B, N, 4) y_min, x_min, y_max, x_max relative to the
    image, classes (B, N), scores (B, N), count (B,); N = MAX_DETECTIONS, rows past the count zero."""

    def __init__(self, max_detections=MAX_DETECTIONS, iou_threshold=IOU_THRESHOLD, score_floor=SCORE_FLOOR,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_detections, self.iou_threshold, self.score_floor = max_detections, iou_threshold, score_floor

    def call(self, raw):
        boxes = decode(raw[..., :4], raw[..., 4:8])
        class_count = int(raw.shape[-1]) - 8
        batch = tf.shape(raw)[0]
        # Every (anchor, class) pair is a candidate, as in RetinaNet: an object the model cannot
        # tell between two classes is found as both, each at its own score (the best class alone
        # lost the other when it was the true one).
        scores = tf.reshape(tf.sigmoid(raw[..., 8:]), [batch, -1])
        keep, n = min(PRE_NMS, int(raw.shape[1]) * class_count), self.max_detections
        # Each image's best pairs; then one suppression over the whole batch (a loop over images
        # would add subgraphs, and MediaPipe loads single-subgraph files only): every box is shifted
        # by twice its (image, class) slot, so boxes of different images or classes never overlap.
        top_scores, top = tf.math.top_k(scores, k=keep)  # (B, K)
        anchor = top // class_count
        top_boxes = tf.gather(boxes, anchor, batch_dims=1)
        top_classes = tf.cast(top - anchor * class_count, tf.float32)
        image = tf.cast(tf.range(batch)[:, None] * tf.ones_like(top), tf.float32)
        slot = image * float(class_count) + top_classes
        flat_boxes = tf.reshape(top_boxes + 2.0 * slot[..., None], [-1, 4])
        flat_scores = tf.reshape(top_scores, [-1])
        chosen, chosen_scores = tf.image.non_max_suppression_with_scores(
            flat_boxes, flat_scores, batch * keep, self.iou_threshold, self.score_floor)
        # LiteRT's suppression pads its answer with index 0 and score 0 when nothing passes the floor.
        real = chosen_scores > 0.0
        chosen, chosen_scores = tf.boolean_mask(chosen, real), tf.boolean_mask(chosen_scores, real)
        # Survivors come highest score first: each one's rank among its own image's gives its row.
        owner = chosen // keep
        ranks = tf.reduce_sum(tf.cumsum(tf.one_hot(owner, batch), axis=0) * tf.one_hot(owner, batch), axis=1) - 1.0
        kept = ranks < float(n)
        where = tf.stack([tf.boolean_mask(owner, kept), tf.cast(tf.boolean_mask(ranks, kept), tf.int32)], axis=1)
        picked = tf.boolean_mask(chosen, kept)
        out_boxes = tf.scatter_nd(where, tf.gather(tf.reshape(top_boxes, [-1, 4]), picked), [batch, n, 4])
        out_classes = tf.scatter_nd(where, tf.gather(tf.reshape(top_classes, [-1]), picked), [batch, n])
        out_scores = tf.scatter_nd(where, tf.boolean_mask(chosen_scores, kept), [batch, n])
        counts = tf.reduce_sum(tf.one_hot(where[:, 0], batch), axis=0)
        return dict(zip(OUTPUT_NAMES, (out_boxes, out_classes, out_scores, counts)))

    def compute_output_spec(self, raw):
        batch = raw.shape[0]
        n = self.max_detections
        return {OUTPUT_NAMES[0]: keras.KerasTensor((batch, n, 4)), OUTPUT_NAMES[1]: keras.KerasTensor((batch, n)),
                OUTPUT_NAMES[2]: keras.KerasTensor((batch, n)), OUTPUT_NAMES[3]: keras.KerasTensor((batch,))}

    def get_config(self):
        return {**super().get_config(), "max_detections": self.max_detections,
                "iou_threshold": self.iou_threshold, "score_floor": self.score_floor}


@keras.saving.register_keras_serializable(package="automl")
class LevelHead(PredictionHead):
    """keras-hub's RetinaNet `PredictionHead`, buildable from the list shape a saved model's config gives
    it (its own `build` adds a tuple to the shape: loading the bundle's model.keras failed)."""

    def build(self, input_shape):
        super().build(tuple(input_shape))


@keras.saving.register_keras_serializable(package="automl")
class WithAnchors(keras.layers.Layer):
    """[regressions (B, A, 4), logits (B, A, C)] -> (B, A, 8 + C), the (A, 4) anchors in between: the
    loss and `Detections` read them there, so neither needs the data."""

    def __init__(self, anchors, **kwargs):
        super().__init__(**kwargs)
        self.anchors = np.asarray(anchors, dtype="float32")

    def call(self, inputs):
        regressions, logits = inputs
        anchors = tf.broadcast_to(tf.constant(self.anchors)[None], [tf.shape(regressions)[0], *self.anchors.shape])
        return tf.concat([regressions, anchors, logits], axis=-1)

    def compute_output_shape(self, shapes):
        regressions, logits = shapes
        return (regressions[0], regressions[1], 8 + logits[-1])

    def get_config(self):
        return {**super().get_config(), "anchors": self.anchors.tolist()}
