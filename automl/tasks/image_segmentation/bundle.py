"""Segments image files of any size with an exported bundle, as phone code would.

Needs only metadata.json, preprocessor.json, a .tflite model, numpy, Pillow
(tifffile for TIFF) and LiteRT: the bundle's preprocessor cuts the image into
the model's tiles and stitches their outputs back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.bundle_reader import BundleReader
from automl.data.images import read_image


class BundleSegmenter:
    """Args: export_dir, metadata (metadata.json's contents), model_path (a .tflite)."""

    def __init__(self, export_dir: Path, metadata: dict, model_path: Path):
        from automl.preprocessing import load_preprocessor
        from automl.verify import LiteRTModel

        self.labels = metadata["labels"]
        self.preprocessor = load_preprocessor(export_dir)
        self.model = LiteRTModel(model_path)

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """(H, W, classes) probabilities for one (H, W[, C]) image."""
        return self.preprocessor.run(self.model.predict, [image])[0]

    def segment_file(self, path: str | Path, mask_path: Path) -> dict:
        """Writes the class index of each pixel to `mask_path` (a PNG) and returns a summary row."""
        path = Path(path)
        classes = self.probabilities(read_image(path)).argmax(-1).astype(np.uint8)
        from PIL import Image

        mask_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(classes).save(mask_path)
        shares = np.bincount(classes.ravel(), minlength=len(self.labels)) / classes.size
        return {"input": str(path), "mask": str(mask_path), "size": [int(classes.shape[1]), int(classes.shape[0])],
                "class_share": {name: round(float(s), 4) for name, s in zip(self.labels, shares)}}


def mask_names(paths) -> list[str]:
    """`<stem>_mask.png` per input; inputs whose stems clash get their folder's name in front
    (`a/cells.tif`, `b/cells.tif` -> `a_cells_mask.png`, `b_cells_mask.png`), then a number."""
    paths = [Path(p) for p in paths]
    stems = [p.stem for p in paths]
    names = [f"{p.parent.name}_{p.stem}" if stems.count(p.stem) > 1 and p.parent.name else p.stem for p in paths]
    out, used = [], set()
    for name in names:
        unique, number = name, 2
        while unique in used:
            unique, number = f"{name}_{number}", number + 1
        used.add(unique)
        out.append(f"{unique}_mask.png")
    return out


class MaskReader(BundleReader):
    """`automl predict` on a segmenter's bundle: a class-index mask PNG per image."""

    def rows(self, export_dir, metadata, model_path, inputs, options):
        """Writes a class-index mask PNG per image (stitched from the model's tiles) into options["out_dir"]."""
        from automl.predict import rows_for_each

        segmenter = BundleSegmenter(export_dir, metadata, model_path)
        names = dict(zip(inputs, mask_names(inputs)))
        return rows_for_each(inputs, lambda path: [segmenter.segment_file(path, options["out_dir"] / names[path])])

    def show(self, row):
        return f"{row['mask']}\t{row['class_share']}\t{row['input']}"

    mediapipe_task = "ImageSegmenter"

    def mediapipe_inputs(self, data):
        """The test tiles as an app's 8-bit RGB frames (other data stretched from its intensity range
        to 0..255, which the file's normalization maps back)."""
        from automl.app_metadata.describe import eight_bit

        tiles, _ = self.task.eval_arrays(data, "test")
        if eight_bit(data.intensity_range):
            return tiles
        low, high = data.intensity_range
        return (tiles - low) * (255.0 / max(high - low, 1e-12))

    def mediapipe_outputs(self, model_path, raw, data):
        """The category masks as one-hot probabilities, which the scorer compares as it does LiteRT's."""
        from automl.mediapipe_tasks import segment_images

        masks = segment_images(model_path, raw)
        return np.eye(len(data.class_names), dtype=np.float32)[masks]
