"""Segmentation losses: pixel cross-entropy, soft Dice, or their sum.

Registered with Keras so a saved .keras model loads without custom objects.
"""

from __future__ import annotations

import keras
from keras import ops

LOSSES = ("cross_entropy", "dice", "cross_entropy_dice")


@keras.saving.register_keras_serializable(package="automl")
def soft_dice_loss(y_true, y_pred, smooth: float = 1.0):
    """1 - mean soft Dice over classes, per example; y_true holds class indices (B, H, W).

    Dice weighs every class equally whatever its pixel count, so a small
    foreground is not drowned by the background.
    """
    one_hot = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1])
    y_pred = ops.cast(y_pred, "float32")
    intersection = ops.sum(one_hot * y_pred, axis=(1, 2))
    total = ops.sum(one_hot, axis=(1, 2)) + ops.sum(y_pred, axis=(1, 2))
    return 1.0 - ops.mean((2.0 * intersection + smooth) / (total + smooth), axis=-1)


@keras.saving.register_keras_serializable(package="automl")
def cross_entropy_dice_loss(y_true, y_pred):
    """Pixel cross-entropy averaged per example, plus soft Dice."""
    pixel = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    return ops.mean(pixel, axis=(1, 2)) + soft_dice_loss(y_true, y_pred)


def segmentation_loss(name: str):
    """A Keras loss by name (see LOSSES)."""
    if name not in LOSSES:
        raise ValueError(f"Unknown segmentation loss. Received: loss={name!r}; expected one of {LOSSES}")
    return {"cross_entropy": "sparse_categorical_crossentropy", "dice": soft_dice_loss,
            "cross_entropy_dice": cross_entropy_dice_loss}[name]
