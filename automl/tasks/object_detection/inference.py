"""What apps run of a detector: the trained model with decoding and non-maximum suppression inside
(`layers.Detections`), its four outputs the layout MediaPipe's ObjectDetector reads."""

from __future__ import annotations

from automl.inference import Inference


def with_detections(model):
    """The trained model (raw outputs per anchor) followed by decoding and suppression."""
    import keras

    from automl.tasks.object_detection.layers import Detections

    return keras.Model(model.inputs, Detections(name="detections")(model.outputs[0]), name=f"{model.name}_detector")


class DetectorFiles(Inference):
    """The detector as apps run it: boxes, classes, scores and their count from pixels."""

    #: The int8 file decodes and suppresses in float: the per-anchor output joins anchors, box
    #: regressions and logits, which one int8 scale cannot hold, and suppression compares boxes
    #: shifted apart by their image and class (in int8 it read one box as another: AP50 0.05
    #: where Keras had 0.85, on the nuclei).
    int8_float_layers = ("raw_detections", "detections")

    def choose(self, model, data, hp, config, evidence=None):
        from automl.tasks.object_detection.layers import IOU_THRESHOLD, MAX_DETECTIONS, SCORE_FLOOR

        return with_detections(model), {
            "decoding": f"the trained model with its anchor regressions decoded and suppressed per class inside the model (IoU {IOU_THRESHOLD}, "
                        f"scores from {SCORE_FLOOR}, at most {MAX_DETECTIONS} a image)"}

    def tflite_metadata(self, data, hp, config):
        from automl.app_metadata.describe import object_detector
        from automl.tasks.object_detection.layers import MAX_DETECTIONS

        return object_detector(config.run_name(), f"Object detector trained by automl on {config.data.path}",
                               data.input_size, list(data.class_names), MAX_DETECTIONS)
