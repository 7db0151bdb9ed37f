"""The detector's decoding and suppression live in the model: a file converted from it has builtin ops
only (NON_MAX_SUPPRESSION_V5 among them) and LiteRT returns the detections Keras returns; flips and
zooms move the boxes with the pixels."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
import tensorflow as tf  # noqa: E402

from automl.convert import convert_tflite, export_saved_model, flex_ops, tflite_ops  # noqa: E402
from automl.tasks.object_detection.anchors import plan_anchors  # noqa: E402
from automl.tasks.object_detection.augment import _flip, _zoom_in, _zoom_out  # noqa: E402
from automl.tasks.object_detection.layers import MAX_DETECTIONS, Detections, WithAnchors  # noqa: E402
from automl.verify import LiteRTModel  # noqa: E402


def _tiny_detector(size=64, classes=3):
    plan = plan_anchors(np.array([[0.1, 0.1, 0.4, 0.3], [0.2, 0.5, 0.9, 0.7]]), size)
    anchors = plan.anchors(size)
    inputs = keras.Input((size, size, 3))
    pooled = keras.layers.AveragePooling2D(8)(keras.layers.Rescaling(1 / 255)(inputs))
    flat = keras.layers.Flatten()(pooled)
    count = len(anchors)
    # Boxes near their anchors, scores spread out: detections without ties, as a trained model's are.
    small, spread = keras.initializers.RandomNormal(stddev=0.02, seed=1), keras.initializers.RandomNormal(seed=2)
    regressions = keras.layers.Reshape((count, 4))(keras.layers.Dense(count * 4, kernel_initializer=small)(flat))
    logits = keras.layers.Reshape((count, classes))(keras.layers.Dense(count * classes, kernel_initializer=spread)(flat))
    raw = WithAnchors(anchors)([regressions, logits])
    return keras.Model(inputs, Detections()(raw)), anchors


def test_the_detector_file_has_builtin_ops_only_and_gives_keras_detections(tmp_path):
    model, _ = _tiny_detector()
    images = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype(np.float32)
    expected = model.predict(images, verbose=0)
    assert expected["detection_boxes"].shape == (4, MAX_DETECTIONS, 4)
    assert (expected["num_detections"] > 0).all()
    export_saved_model(model, tmp_path / "saved")
    content = convert_tflite(tmp_path / "saved", "float32", None, allow_flex=False)
    ops = tflite_ops(content)
    assert not flex_ops(ops) and "NON_MAX_SUPPRESSION_V5" in ops
    # One subgraph (no loop over images): MediaPipe's ObjectDetector refuses files with more.
    from ai_edge_litert.tools import flatbuffer_utils

    assert len(flatbuffer_utils.read_model_from_bytearray(bytearray(content)).subgraphs) == 1
    (tmp_path / "model.tflite").write_bytes(content)
    runtime = LiteRTModel(tmp_path / "model.tflite")
    got = runtime.predict(images)
    np.testing.assert_array_equal(got["num_detections"], expected["num_detections"])
    for i in range(4):
        n = int(expected["num_detections"][i])
        np.testing.assert_allclose(got["detection_boxes"][i, :n], expected["detection_boxes"][i, :n], atol=1e-4)
        np.testing.assert_array_equal(got["detection_classes"][i, :n], expected["detection_classes"][i, :n])
        assert (got["detection_scores"][i, n:] == 0).all()
    # Nothing above the score floor: no detections in either (LiteRT's suppression pads its answer).
    logits = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][1]
    logits.set_weights([np.zeros_like(w) - 8.0 * (w.ndim == 1) for w in logits.get_weights()])
    export_saved_model(model, tmp_path / "quiet")
    (tmp_path / "quiet.tflite").write_bytes(convert_tflite(tmp_path / "quiet", "float32", None, allow_flex=False))
    quiet = LiteRTModel(tmp_path / "quiet.tflite").predict(images)
    assert (model.predict(images, verbose=0)["num_detections"] == 0).all() and (quiet["num_detections"] == 0).all()
    assert (quiet["detection_boxes"] == 0).all()


def test_the_heads_give_every_anchor_of_every_level_its_regression_anchor_and_logits(tmp_path):
    import keras_tuner

    from automl.tasks.object_detection.head import detection_head

    keras.utils.set_random_seed(0)
    plan = plan_anchors(np.array([[0.1, 0.1, 0.4, 0.3]]), 64)
    anchors = plan.anchors(64)
    pyramid = {f"P{level}": keras.Input((64 // 2 ** level, 64 // 2 ** level, 16)) for level in (3, 4, 5)}
    raw = detection_head(keras_tuner.HyperParameters(), pyramid, anchors, plan.per_cell, 5)
    model = keras.Model(list(pyramid.values()), raw)
    out = model.predict([np.ones((2, *p.shape[1:]), np.float32) for p in pyramid.values()], verbose=0)
    assert out.shape == (2, len(anchors), 8 + 5)
    np.testing.assert_allclose(out[1, :, 4:8], anchors)
    # The class logits start near the focal-loss prior: about 1% for every class (background everywhere).
    start = 1 / (1 + np.exp(-out[..., 8:]))
    assert abs(start.mean() - 0.01) < 2e-3 and start.max() < 0.03
    # The saved model loads again (the bundle's model.keras): the same outputs.
    model.save(tmp_path / "heads.keras")
    again = keras.models.load_model(tmp_path / "heads.keras", compile=False)
    np.testing.assert_allclose(again.predict([np.ones((2, *p.shape[1:]), np.float32) for p in pyramid.values()],
                                             verbose=0), out, atol=1e-6)


def test_flips_and_zooms_move_the_boxes_with_the_pixels():
    # A bright square at rows 8..24, columns 40..56 of a 64-px image; a padded row stays padded.
    image = np.zeros((64, 64, 3), np.float32)
    image[8:24, 40:56] = 255.0
    boxes = tf.constant([[8 / 64, 40 / 64, 24 / 64, 56 / 64], [0, 0, 0, 0]], tf.float32)
    classes = tf.constant([2, -1])

    def bright_box(pixels):
        rows, cols = np.nonzero(np.asarray(pixels)[..., 0] > 127)
        return np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1]) / 64

    tf.random.set_seed(3)
    for _ in range(6):
        flipped, moved = _flip(tf.constant(image), boxes, horizontal=True)
        np.testing.assert_allclose(moved[0], bright_box(flipped), atol=1 / 64)
        zoom = tf.constant(0.7)
        for zoomed, moved, kept in (_zoom_in(tf.constant(image), boxes, classes, zoom),
                                    _zoom_out(tf.constant(image), boxes, classes, zoom)):
            if int(kept[0]) == 2:
                np.testing.assert_allclose(np.clip(moved[0], 0, 1), bright_box(zoomed), atol=2.5 / 64)
            assert int(kept[1]) == -1 and np.all(np.asarray(moved[1]) == 0)
