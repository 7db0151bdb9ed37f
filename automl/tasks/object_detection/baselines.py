"""A detector without a model: the boxes of the connected regions of an Otsu threshold.

The threshold is Otsu's on the training images' grey levels; the side of it that fills the training
boxes more (bright cells on dark, or dark print on white) is the foreground. Each connected region
(8-connected) larger than a quarter of the smallest training boxes is a detection of the most
common training class, scored by how much its grey level stands out from the threshold. It is what a
microscopist tries first on nuclei; on cluttered scenes it finds little, and says so by its AP.
"""

from __future__ import annotations

import numpy as np

from automl.tasks.image_segmentation.baselines import otsu_threshold
from automl.tasks.object_detection.layers import MAX_DETECTIONS


class OtsuComponents:
    def __init__(self, data):
        train = data.train
        grey = train.images.mean(axis=-1)
        self.threshold = otsu_threshold(grey.ravel())
        inside = _inside_boxes(train.boxes, train.classes, grey.shape[1:])
        bright = grey > self.threshold
        # Foreground: the side of the threshold that is commoner inside the boxes than outside them.
        self.bright_foreground = bool(bright[inside].mean() >= bright[~inside].mean()) if (~inside).any() else True
        valid = train.classes >= 0
        sides = np.sqrt((train.boxes[..., 2] - train.boxes[..., 0]) * (train.boxes[..., 3] - train.boxes[..., 1]))[valid]
        self.min_area = 0.25 * float(np.percentile(sides, 5) * grey.shape[1]) ** 2
        self.klass = int(np.bincount(train.classes[valid]).argmax())
        self.class_name = data.class_names[self.klass]

    def describe(self) -> str:
        side = "brighter" if self.bright_foreground else "darker"
        return (f"boxes of the connected regions {side} than Otsu's threshold {self.threshold:.1f} (grey, from the "
                f"training images), of at least {self.min_area:.0f} px, each called {self.class_name!r} (the "
                f"commonest class), scored by its contrast to the threshold; no model")

    def detect(self, images: np.ndarray) -> dict:
        """The four outputs the detector's file gives, for (N, S, S, 3) images."""
        from scipy import ndimage

        n, size = len(images), images.shape[1]
        boxes = np.zeros((n, MAX_DETECTIONS, 4), dtype=np.float32)
        scores = np.zeros((n, MAX_DETECTIONS), dtype=np.float32)
        counts = np.zeros(n, dtype=np.float32)
        for i, image in enumerate(images):
            grey = image.mean(axis=-1)
            mask = grey > self.threshold if self.bright_foreground else grey < self.threshold
            regions, _ = ndimage.label(mask, structure=np.ones((3, 3)))
            found = []
            for index, where in enumerate(ndimage.find_objects(regions), start=1):
                if where is None:
                    continue
                pixels = regions[where] == index
                if pixels.sum() < self.min_area:
                    continue
                contrast = abs(float(grey[where][pixels].mean()) - self.threshold) / 255.0
                rows, cols = where
                found.append((contrast, [rows.start / size, cols.start / size, rows.stop / size, cols.stop / size]))
            found = sorted(found, key=lambda f: -f[0])[:MAX_DETECTIONS]
            for d, (contrast, box) in enumerate(found):
                boxes[i, d], scores[i, d] = box, min(1.0, 0.05 + contrast)
            counts[i] = len(found)
        classes = np.where(scores > 0, float(self.klass), 0.0).astype(np.float32)
        return {"detection_boxes": boxes, "detection_classes": classes, "detection_scores": scores,
                "num_detections": counts}


def _inside_boxes(boxes: np.ndarray, classes: np.ndarray, shape) -> np.ndarray:
    """(N, H, W) True where a pixel lies in one of its image's boxes."""
    height, width = shape
    inside = np.zeros((len(boxes), height, width), dtype=bool)
    for i in range(len(boxes)):
        for box, klass in zip(boxes[i], classes[i]):
            if klass < 0:
                continue
            y0, x0 = int(box[0] * height), int(box[1] * width)
            y1, x1 = max(int(np.ceil(box[2] * height)), y0 + 1), max(int(np.ceil(box[3] * width)), x0 + 1)
            inside[i, y0:y1, x0:x1] = True
    return inside
