"""Segments image files of any size with an exported bundle, as phone code would.

Needs only metadata.json, a .tflite model, numpy, Pillow (tifffile for TIFF)
and LiteRT: the image is cut into the model's tiles, run, and stitched back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.data.segmentation import as_channels, read_image
from automl.segmentation.tiling import stitch


class BundleSegmenter:
    """Args: export_dir, metadata (metadata.json's contents), model_path (a .tflite)."""

    def __init__(self, export_dir: Path, metadata: dict, model_path: Path):
        from automl.verify import LiteRTModel

        self.labels = metadata["labels"]
        self.tile = metadata["tiling"]["tile_size"]
        self.overlap = metadata["tiling"]["overlap"]
        self.channels = metadata["input"]["shape"][-1]
        self.model = LiteRTModel(model_path)

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """(H, W, classes) probabilities for one (H, W[, C]) image."""
        return stitch(self.model.predict, as_channels(image, self.channels), self.tile, self.overlap)

    def segment_file(self, path: str | Path, out_dir: Path) -> dict:
        """Writes `<stem>_mask.png` (class index per pixel) and returns a summary row."""
        path = Path(path)
        classes = self.probabilities(read_image(path)).argmax(-1).astype(np.uint8)
        from PIL import Image

        out_dir.mkdir(parents=True, exist_ok=True)
        mask_path = out_dir / f"{path.stem}_mask.png"
        Image.fromarray(classes).save(mask_path)
        shares = np.bincount(classes.ravel(), minlength=len(self.labels)) / classes.size
        return {"input": str(path), "mask": str(mask_path), "size": [int(classes.shape[1]), int(classes.shape[0])],
                "class_share": {name: round(float(s), 4) for name, s in zip(self.labels, shares)}}
