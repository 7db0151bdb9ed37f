"""Averaging a classifier's outputs over an image and its mirror image, when validation says so.

A model trained with random left-right flips has learned both views of each
image; averaging its two answers removes part of its variance (Fashion-MNIST,
10,000 test images: 0.9360 -> 0.9403 in the committed pipeline, and
0.9369 -> 0.9416, 0.9376 -> 0.9395 measured offline on two earlier runs).
It costs a second pass at inference (still one TFLite file, builtin ops), so
it is kept only when it scores better on the validation part by more than the
noise of that comparison. The comparison is paired, image by image, on log loss
(with accuracy not worse): counting argmax changes cannot resolve a gain of
0.2 points on 6,000 images (one run's 0.9397 -> 0.9403 on validation was "within
the noise" by counts, while its log loss fell by 5 standard errors, and on the
10,000 test images the average gave 0.9374 -> 0.9398).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from automl.inference import Inference


@keras.saving.register_keras_serializable(package="automl")
class MirrorImages(keras.layers.Layer):
    """Mirrors (batch, height, width, channels) images left to right."""

    def call(self, images):
        return keras.ops.flip(images, axis=2)

    def compute_output_shape(self, input_shape):
        return input_shape


def with_mirror_average(model):
    """A model with the same input and output whose output is the mean of `model` on the image and
    on its mirror image (the weights are shared, not copied)."""
    inputs = keras.Input(tuple(model.inputs[0].shape[1:]), name="input")
    plain = model(inputs)
    mirrored = model(MirrorImages(name="mirror")(inputs))
    outputs = keras.layers.Average(dtype="float32", name="mirror_average")([plain, mirrored])
    return keras.Model(inputs, outputs, name=f"{model.name}_mirror_average")


def tf_keras_mirror_average(model):
    """`with_mirror_average` for a tf_keras model (compression's twins; the mirror is a Lambda, which
    converts to TFLite's builtin REVERSE_V2 and is never saved)."""
    import tensorflow as tf
    import tf_keras

    inputs = tf_keras.Input(tuple(model.inputs[0].shape[1:]), name="input")
    mirrored = tf_keras.layers.Lambda(lambda images: tf.reverse(images, axis=[2]), name="mirror")(inputs)
    outputs = tf_keras.layers.Average(name="mirror_average")([model(inputs), model(mirrored)])
    return tf_keras.Model(inputs, outputs, name=f"{model.name}_mirror_average")


def choose_mirror_average(model, val_images: np.ndarray, val_labels: np.ndarray, setting, trained_with_flips: bool):
    """Returns (the model to evaluate and export, what the report says of the choice).

    setting: `export.mirror_average` (True, False or "auto": kept when the model was trained
    with flips, its validation log loss falls beyond the noise and its accuracy does not fall)."""
    if setting is False:
        return model, {"used": False, "why": "export.mirror_average is false"}
    if setting == "auto" and not trained_with_flips:
        return model, {"used": False, "why": "the model was trained without flips"}
    if setting == "auto" and not len(val_labels):
        return model, {"used": False, "why": "no validation images to decide on"}
    choice = {"used": True, "why": "export.mirror_average is true"}
    if len(val_labels):
        plain = model.predict(val_images, batch_size=256, verbose=0)
        mirrored = model.predict(val_images[:, :, ::-1], batch_size=256, verbose=0)
        plain_right = plain.argmax(-1) == val_labels
        averaged_right = (plain + mirrored).argmax(-1) == val_labels
        fixed, broken = int(np.sum(averaged_right & ~plain_right)), int(np.sum(plain_right & ~averaged_right))
        choice.update(validation_accuracy=round(float(plain_right.mean()), 6),
                      validation_accuracy_averaged=round(float(averaged_right.mean()), 6),
                      validation_fixed=fixed, validation_broken=broken)
        if setting == "auto":
            choice.update(_paired_log_loss(plain, (plain + mirrored) / 2, val_labels))
            better = fixed >= broken and choice["log_loss_gain_in_standard_errors"] > MIN_STANDARD_ERRORS
            choice["used"] = better
            choice["why"] = (f"on {len(val_labels)} validation images the average fixes {fixed} and breaks "
                             f"{broken} (accuracy {choice['validation_accuracy']:.4f} -> "
                             f"{choice['validation_accuracy_averaged']:.4f}; log loss "
                             f"{choice['validation_log_loss']:.4f} -> {choice['validation_log_loss_averaged']:.4f}, "
                             f"{choice['log_loss_gain_in_standard_errors']:+.1f} standard errors)"
                             + ("" if better else ": it breaks more than it fixes" if fixed < broken
                                else ": its log loss does not fall beyond the noise, not worth a second pass"))
    return (with_mirror_average(model) if choice["used"] else model), choice


#: The average's log-loss gain must exceed this many standard errors of itself (paired over the
#: validation images), so a tie within the noise keeps the model that needs one pass.
MIN_STANDARD_ERRORS = 2.0


def _paired_log_loss(plain: np.ndarray, averaged: np.ndarray, labels: np.ndarray) -> dict:
    """Mean log loss of each and the averaged model's gain in standard errors of the paired gain."""
    rows = np.arange(len(labels))
    plain_loss = -np.log(np.clip(plain[rows, labels], 1e-7, 1.0))
    averaged_loss = -np.log(np.clip(averaged[rows, labels], 1e-7, 1.0))
    gain = plain_loss - averaged_loss
    spread = float(gain.std(ddof=1)) / math.sqrt(len(gain)) if len(gain) > 1 else 0.0
    in_errors = float(gain.mean()) / spread if spread > 0 else 0.0
    return {"validation_log_loss": round(float(plain_loss.mean()), 6),
            "validation_log_loss_averaged": round(float(averaged_loss.mean()), 6),
            "log_loss_gain_in_standard_errors": round(in_errors, 2)}


class MirrorAverage(Inference):
    """The trained model, or its outputs averaged over each image and its mirror image when that
    scores better on validation (`export.mirror_average`)."""

    output_name = "probabilities"

    def int8_io(self, data):
        return "uint8", "uint8"  # what MediaPipe's ImageClassifier hands and reads

    def choose(self, model, data, hp, config, evidence=None):
        images, labels = self.task.eval_arrays(data, "val")
        return choose_mirror_average(model, images, labels, config.export.mirror_average,
                                     trained_with_flips="flip" in hp.get("augmentation"))

    def tf_keras(self, model, inference):
        return tf_keras_mirror_average(model) if inference and inference.get("used") else model

    def tflite_metadata(self, data, hp, config):
        from automl.app_metadata.describe import image_classifier

        height, width, channels = data.image_shape
        return image_classifier(config.run_name(), f"Image classifier trained by automl on {config.data.path}",
                                (height, width), list(data.class_names), grey_inside=channels == 1)
