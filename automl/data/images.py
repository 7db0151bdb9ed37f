"""What every image task's data loading shares: reading an image file, pixel arrays in one layout,
the size images are resized to, and a seeded cap on the training examples. Image classification and
generation read their images through these; segmentation and detection read files with `read_image`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np

from automl.data.split import stratified_sample
from automl.errors import DataError


def read_image(path: Path) -> np.ndarray:
    """Pixels of an image file as (H, W) or (H, W, C); TIFF through tifffile."""
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            try:
                import tifffile
            except ImportError:
                raise DataError(f"{path}: reading TIFF needs the tifffile package (pip install tifffile)") from None
            return np.asarray(tifffile.imread(path))
        from PIL import Image

        with Image.open(path) as image:
            if image.mode in ("RGBA", "LA", "CMYK", "YCbCr"):
                image = image.convert("RGB")
            return np.asarray(image)
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - PIL and tifffile raise many kinds
        raise DataError(f"{path}: cannot read image: {type(err).__name__}: {err}") from None


def as_nhwc(images: np.ndarray, where: str) -> np.ndarray:
    """Images as uint8 (N, H, W, C) with C 1 or 3: a channel added to (N, H, W), alpha dropped, floats
    in 0..1 scaled to 0..255; `where` names them in the error for any other shape."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise DataError(
            f"{where}: expected images shaped (N, H, W) or (N, H, W, C) with C in 1, 3, 4. "
            f"Received: shape={images.shape}"
        )
    if images.shape[-1] == 4:
        images = images[..., :3]
    if images.dtype != np.uint8:
        if images.size and float(np.nanmax(images)) <= 1.0:
            images = images * 255.0
        images = np.clip(images, 0, 255).astype(np.uint8)
    return images


def target_shape(image_size, sizes: Counter, channels: int) -> tuple[int, int, int]:
    """(height, width, channels) images are resized to: `image_size`, or (auto) the most common size."""
    if image_size == "auto":
        (height, width), _ = sizes.most_common(1)[0]
    else:
        height, width = image_size
    return int(height), int(width), int(channels)


def limit_train(data, max_examples: Optional[int], seed: int):
    """`data` with at most `max_examples` training examples, a seeded sample stratified by label."""
    if max_examples and max_examples < len(data.train):
        data.train = data.train.take(stratified_sample(data.train.labels, max_examples, seed))
    return data
