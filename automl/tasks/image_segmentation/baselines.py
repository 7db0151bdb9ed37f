"""Segmentations that need no model: the scale a trained model must beat.

`majority_class` labels every pixel with the most common training class.
`otsu_threshold` (two classes) thresholds the pixel intensity where the
training pixels' histogram splits best (Otsu, 1979); whether the foreground
is the bright or the dark side is decided on the training tiles.
"""

from __future__ import annotations

import numpy as np

from automl.tasks.image_segmentation.metrics import segmentation_metrics


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The threshold that maximizes the between-class variance of `values`."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[1:][np.argmax(between)])


def _intensity(images: np.ndarray) -> np.ndarray:
    return images.mean(axis=-1)


def _one_hot(classes: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[classes]


class Baselines:
    """Rules fitted on the training tiles, applied to any part's tiles."""

    def __init__(self, train_images: np.ndarray, train_masks: np.ndarray, num_classes: int):
        self.num_classes = num_classes
        self.majority = int(np.bincount(train_masks.ravel(), minlength=num_classes).argmax())
        self.threshold = self.bright_is_foreground = None
        if num_classes == 2:
            intensity = _intensity(train_images)
            self.threshold = otsu_threshold(intensity)
            bright = (intensity > self.threshold).astype(int)
            scores = [segmentation_metrics(train_masks, _one_hot(guess, 2), 2)["mean_iou"] for guess in (bright, 1 - bright)]
            self.bright_is_foreground = scores[0] >= scores[1]

    def outputs(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """One-hot 'probabilities' of each rule for tiles (N, H, W, C)."""
        out = {"majority_class": _one_hot(np.full(images.shape[:3], self.majority), self.num_classes)}
        if self.threshold is not None:
            bright = (_intensity(images) > self.threshold).astype(int)
            out["otsu_threshold"] = _one_hot(bright if self.bright_is_foreground else 1 - bright, 2)
        return out
