"""Segmentation's preprocessor: whole images of any size -> tiles -> stitched per-pixel probabilities."""

from __future__ import annotations

import numpy as np

from automl.preprocessing import Preprocessor


class TilePreprocessor(Preprocessor):
    """Cuts each image into the model's overlapping tiles and stitches the tiles' outputs back.

    Args:
        tile, overlap: tile side and overlap in pixels, as in training.
        channels: the model's input channels (grey images are repeated to RGB, colour averaged to grey).
    """

    def __init__(self, tile: int, overlap: int, channels: int):
        self.tile, self.overlap, self.channels = int(tile), int(overlap), int(channels)

    def encode(self, inputs) -> list[np.ndarray]:
        """Each image as (H, W, channels) float32 pixels, as read."""
        from automl.tasks.image_segmentation.data import as_channels

        return [as_channels(image, self.channels, f"image {i}") for i, image in enumerate(inputs)]

    def run(self, model_fn, inputs):
        """(N, H, W, classes) probabilities when the images share a size, else a list of (H, W, classes)."""
        from automl.tasks.image_segmentation.tiling import stitch

        outputs = [stitch(model_fn, image, self.tile, self.overlap) for image in self.encode(inputs)]
        return np.stack(outputs) if len({o.shape for o in outputs}) == 1 else outputs

    def get_config(self) -> dict:
        return {"tile": self.tile, "overlap": self.overlap, "channels": self.channels}
