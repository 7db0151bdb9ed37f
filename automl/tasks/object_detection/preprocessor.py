"""Detection's preprocessor: images of any size -> the model's square input; boxes come back relative to
the image, so they fit the original as they are."""

from __future__ import annotations

import numpy as np

from automl.errors import DataError
from automl.preprocessing import Preprocessor


class DetectionPreprocessor(Preprocessor):
    """Args: input_size: the model's square side; images are stretched to it, as in training."""

    def __init__(self, input_size: int):
        self.input_size = int(input_size)

    def encode(self, inputs) -> np.ndarray:
        """(N, S, S, 3) float32 pixels 0..255 from image paths or (H, W[, C]) arrays."""
        from automl.tasks.object_detection.data import as_rgb_uint8, read_resized

        out = np.zeros((len(inputs), self.input_size, self.input_size, 3), dtype=np.float32)
        for i, image in enumerate(inputs):
            if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
                out[i] = read_resized(image, self.input_size)
                continue
            pixels = np.asarray(image)
            if pixels.ndim not in (2, 3):
                raise DataError(f"image {i}: expected an (H, W) or (H, W, C) array or an image path; received "
                                f"shape {pixels.shape}")
            out[i] = as_rgb_uint8(pixels, self.input_size)
        return out

    def get_config(self) -> dict:
        return {"input_size": self.input_size}
