"""Segmentation metrics from one pixel confusion matrix over a whole split."""

from __future__ import annotations

import numpy as np


def pixel_confusion(targets: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) pixel counts, rows = true class, columns = predicted class."""
    flat = np.asarray(targets, dtype=np.int64).ravel() * num_classes + np.asarray(predicted, dtype=np.int64).ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def segmentation_metrics(targets: np.ndarray, probs: np.ndarray, num_classes: int) -> dict:
    """Per-class IoU and Dice, their means, and pixel accuracy.

    A class absent from both the truth and the prediction has no IoU; it is
    reported as null and left out of the means.
    """
    confusion = pixel_confusion(targets, np.asarray(probs).argmax(-1), num_classes)
    true_pos = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - true_pos
    present = union > 0
    iou = np.divide(true_pos, union, out=np.full(num_classes, np.nan), where=present)
    dice = np.divide(2 * true_pos, union + true_pos, out=np.full(num_classes, np.nan), where=present)
    as_list = lambda values: [None if np.isnan(v) else round(float(v), 4) for v in values]  # noqa: E731
    return {
        "mean_iou": float(np.nanmean(iou)) if present.any() else 0.0,
        "per_class_iou": as_list(iou),
        "dice": float(np.nanmean(dice)) if present.any() else 0.0,
        "per_class_dice": as_list(dice),
        "pixel_accuracy": float(true_pos.sum() / max(confusion.sum(), 1)),
        "pixels": int(confusion.sum()),
        "tiles": int(len(targets)),
        "confusion_matrix": confusion.tolist(),
    }

