"""Image classification's preprocessor: pixel arrays or image files -> the model's input."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.errors import DataError
from automl.preprocessing import Preprocessor


class ImagePreprocessor(Preprocessor):
    """Pixels 0..255 at the model's size; scaling happens inside the model.

    Takes pixel arrays (N, H, W[, C]) or image file paths, which are read with
    Pillow, converted to grey or RGB and resized as the training images were.

    Args:
        shape: the model's input (height, width, channels).
    """

    def __init__(self, shape):
        self.shape = tuple(int(v) for v in shape)

    def get_config(self) -> dict:
        return {"shape": list(self.shape)}

    def encode(self, inputs) -> np.ndarray:
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        if not isinstance(inputs, np.ndarray) and len(inputs) and all(isinstance(i, (str, Path)) for i in inputs):
            return np.stack([self.read(path) for path in inputs])
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim == len(self.shape) and self.shape[-1] == 1:
            x = x[..., None]  # grey images given without their channel axis
        if tuple(x.shape[1:]) != self.shape:
            raise DataError(f"expected images shaped (N, {', '.join(map(str, self.shape))}) or image file paths. "
                            f"Received: shape={x.shape}")
        return x

    def read(self, path) -> np.ndarray:
        """One image file as the model takes it: (H, W, C) float32 pixels 0..255."""
        from PIL import Image, UnidentifiedImageError

        path = Path(path)
        if not path.is_file():
            raise DataError("no such image file" if path.suffix else "no such image file (this model labels images)")
        height, width, channels = self.shape
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("L" if channels == 1 else "RGB").resize((width, height)),
                                    dtype=np.float32)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise DataError(f"cannot read the image: {type(err).__name__}: {err}") from None
        return pixels.reshape(self.shape)
