"""Numpy only: a generator's inputs and its outputs as pixels, shared by training, export and
`automl predict` (which runs without TensorFlow)."""

from __future__ import annotations

from typing import Optional

import numpy as np


def pixels_to_unit(images):
    """0..255 pixels -> [-1, 1], the generator's tanh range (numpy arrays or tensors)."""
    return images / 127.5 - 1.0


def unit_to_pixels(images) -> np.ndarray:
    """Generator outputs in [-1, 1] -> uint8 pixels."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def latent_inputs(count: int, latent_dim: int, num_classes: int, seed: int, labels: Optional[np.ndarray] = None):
    """A generator's inputs for `count` samples: standard normal latent vectors, and with
    `num_classes` (a conditional generator) class ids, `labels` or uniform draws, shaped (count, 1),
    by input name (as Keras and LiteRT both take them)."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((count, latent_dim)).astype(np.float32)
    if not num_classes:
        return latent
    if labels is None:
        labels = rng.integers(0, num_classes, size=count)
    return {"latent": latent, "class_id": np.asarray(labels, dtype=np.int32).reshape(-1, 1)}


def tile(pixels: np.ndarray, columns: Optional[int] = None, gap: int = 2) -> np.ndarray:
    """uint8 images (count, height, width, channels) as one grid image, `gap` pixels apart."""
    count, height, width, channels = pixels.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.zeros((rows * (height + gap) - gap, columns * (width + gap) - gap, channels), np.uint8)
    for i, image in enumerate(pixels):
        top, left = (i // columns) * (height + gap), (i % columns) * (width + gap)
        grid[top:top + height, left:left + width] = image
    return grid[..., 0] if channels == 1 else grid
