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
    Grey images for a model that takes RGB go in as three equal channels.

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
        if x.ndim == 3 and tuple(x.shape[1:]) == self.shape[:2]:
            x = x[..., None]  # grey images given without their channel axis
        if x.ndim == 4 and x.shape[-1] == 1 and self.shape[-1] == 3:
            x = np.repeat(x, 3, axis=-1)  # grey images for a model that takes RGB (and makes them grey)
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
                pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise DataError(f"cannot read the image: {type(err).__name__}: {err}") from None
        return resize_bilinear(pixels.reshape(*pixels.shape[:2], channels), height, width)


def resize_bilinear(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, C) pixels resized exactly as training's `tf.image.resize` does (bilinear, half-pixel
    centres, no antialiasing), in numpy: Pillow's resize antialiases when it shrinks, which moves
    pixels by several grey levels from what the model was trained on."""
    rows = _bilinear_weights(pixels.shape[0], height)
    cols = _bilinear_weights(pixels.shape[1], width)
    (top, bottom, dy), (left, right, dx) = rows, cols
    dy, dx = dy[:, None, None], dx[None, :, None]
    upper = pixels[top][:, left] * (1 - dx) + pixels[top][:, right] * dx
    lower = pixels[bottom][:, left] * (1 - dx) + pixels[bottom][:, right] * dx
    return (upper * (1 - dy) + lower * dy).astype(np.float32)


def _bilinear_weights(size_in: int, size_out: int):
    position = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    floor = np.floor(position)
    low = np.clip(floor, 0, size_in - 1).astype(int)
    high = np.clip(np.ceil(position), 0, size_in - 1).astype(int)
    return low, high, position - floor
