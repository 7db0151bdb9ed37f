"""The detector's heads: RetinaNet's box and class subnets (keras-hub `PredictionHead`), shared by every
pyramid level, their outputs flattened in the anchors' order (`anchors.AnchorPlan.anchors`), with the
anchors themselves beside them (`WithAnchors`), so the loss and the decoding need nothing else."""

from __future__ import annotations


def detection_head(hp, pyramid: dict, anchors, per_cell: int, num_classes: int):
    """(B, anchors, 8 + num_classes): box regressions, the anchor, then class logits, for each anchor."""
    import keras

    from automl.tasks.object_detection.layers import LevelHead, WithAnchors

    convs = hp.Choice("head_convs", [1, 2, 3], default=2)
    levels = sorted(pyramid, key=lambda name: int(name[1:]))
    width = int(pyramid[levels[0]].shape[-1])
    boxes = LevelHead(output_filters=per_cell * 4, num_filters=width, num_conv_layers=convs, name="box_head")
    # The class logits start at the prior 0.01 (focal loss's start: background everywhere).
    classes = LevelHead(output_filters=per_cell * num_classes, num_filters=width, num_conv_layers=convs,
                             use_prior_probability=True, prior_probability=0.01, name="class_head")
    regressions, logits = [], []
    for level in levels:
        features = pyramid[level]
        regressions.append(keras.layers.Reshape((-1, 4), name=f"boxes_{level}", dtype="float32")(boxes(features)))
        logits.append(keras.layers.Reshape((-1, num_classes), name=f"logits_{level}", dtype="float32")(
            classes(features)))
    regressions = keras.layers.Concatenate(axis=1, name="box_regressions", dtype="float32")(regressions)
    logits = keras.layers.Concatenate(axis=1, name="class_logits", dtype="float32")(logits)
    return WithAnchors(anchors, name="raw_detections", dtype="float32")([regressions, logits])

