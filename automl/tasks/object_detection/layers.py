"""The detector's own layers: the anchors beside the raw outputs, and from those to detections inside
the model (decoding and non-maximum suppression).

The exported file must hand apps boxes, not anchor regressions: MediaPipe's
`ObjectDetector` reads four outputs (boxes, classes, scores, count), as
TFLite's own detection post-processing writes them. Everything here is
TensorFlow ops that convert to builtin TFLite ops: `tf.argmax` (Keras's
`ops.argmax` emits a Flex `BitwiseAnd`), `tf.math.top_k` and
`tf.image.non_max_suppression_with_scores` (NON_MAX_SUPPRESSION_V5).
Suppression is per class in one call: each box is shifted by twice its class
index, so boxes of different classes never overlap.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from automl.tasks.object_detection.anchors import decode

#: Detections per image the file returns at most (COCO's evaluation reads up to 100).
MAX_DETECTIONS = 50
#: The anchors kept by score before suppression.
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
        probabilities = tf.sigmoid(raw[..., 8:])
        scores = tf.reduce_max(probabilities, axis=-1)
        classes = tf.cast(tf.argmax(probabilities, axis=-1), tf.float32)
        keep = min(PRE_NMS, int(raw.shape[1]))

        def one_image(args):
            image_boxes, image_scores, image_classes = args
            top_scores, top = tf.math.top_k(image_scores, k=keep)
            top_boxes, top_classes = tf.gather(image_boxes, top), tf.gather(image_classes, top)
            shifted = top_boxes + 2.0 * top_classes[:, None]
            chosen, chosen_scores = tf.image.non_max_suppression_with_scores(
                shifted, top_scores, self.max_detections, self.iou_threshold, self.score_floor)
            count = tf.shape(chosen)[0]
            pad = self.max_detections - count
            out_boxes = tf.pad(tf.gather(top_boxes, chosen), [[0, pad], [0, 0]])
            out_classes = tf.pad(tf.gather(top_classes, chosen), [[0, pad]])
            out_scores = tf.pad(chosen_scores, [[0, pad]])
            return out_boxes, out_classes, out_scores, tf.cast(count, tf.float32)

        signature = (tf.TensorSpec((self.max_detections, 4), tf.float32),
                     tf.TensorSpec((self.max_detections,), tf.float32),
                     tf.TensorSpec((self.max_detections,), tf.float32), tf.TensorSpec((), tf.float32))
        out = tf.map_fn(one_image, (boxes, scores, classes), fn_output_signature=signature)
        return dict(zip(OUTPUT_NAMES, out))

    def compute_output_spec(self, raw):
        batch = raw.shape[0]
        n = self.max_detections
        return {OUTPUT_NAMES[0]: keras.KerasTensor((batch, n, 4)), OUTPUT_NAMES[1]: keras.KerasTensor((batch, n)),
                OUTPUT_NAMES[2]: keras.KerasTensor((batch, n)), OUTPUT_NAMES[3]: keras.KerasTensor((batch,))}

    def get_config(self):
        return {**super().get_config(), "max_detections": self.max_detections,
                "iou_threshold": self.iou_threshold, "score_floor": self.score_floor}


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
