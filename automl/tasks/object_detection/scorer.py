"""How a converted detector is judged against the Keras one: its detections matched box to box (same
class, most overlap), and the AP50 drop, whose sampling noise is drawn with fewer resamples than a
classifier's (each draw runs COCO's evaluation)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from automl.scorer import Scorer

#: Detections the comparison reads: those an app would show (a score near the floor may fall either side
#: of it in another runtime without meaning anything).
SHOWN_SCORE = 0.3
#: Resamples of the test images for the AP50 drop's standard error.
NOISE_DRAWS = 20
#: MediaPipe truncates each box's corner and size to whole pixels: a value this close to a whole
#: pixel may land on either side of it (Keras's 41.0 is the file's 40.99999 in MediaPipe: one pixel
#: off, IoU 0.94 on a 32-px box, for outputs equal to 1e-5).
GRID_TOLERANCE_PX = 1e-3


def match_detections(reference: dict, outputs: dict, score: float = SHOWN_SCORE) -> dict:
    """Each reference detection scoring at least `score`, matched to the other model's detection of the
    same class on the same image that overlaps it most: the share matched (IoU >= 0.5) and the IoUs of
    the matched boxes. Outputs with a "pixel_grid" (MediaPipe's, in whole pixels) are compared with the
    reference's boxes put on the same grid, as MediaPipe puts them (corner and size truncated)."""
    ious, unmatched, counts_equal = [], 0, 0
    images = len(reference["num_detections"])
    for i in range(images):
        n, m = int(reference["num_detections"][i]), int(outputs["num_detections"][i])
        shown = reference["detection_scores"][i, :n] >= score
        theirs = outputs["detection_scores"][i, :m] >= score
        counts_equal += int(shown.sum() == theirs.sum())
        mine_boxes, mine_classes = reference["detection_boxes"][i, :n][shown], reference["detection_classes"][i, :n][shown]
        other_boxes, other_classes = outputs["detection_boxes"][i, :m], outputs["detection_classes"][i, :m]
        if not len(mine_boxes):
            continue
        grid = outputs["pixel_grid"][i] if "pixel_grid" in outputs else None
        overlap = box_iou(mine_boxes if grid is None else on_pixel_grid(mine_boxes, *grid), other_boxes)
        overlap = np.where(mine_classes[:, None] == other_classes[None, :], overlap, 0.0)
        best = overlap.max(axis=1) if m else np.zeros(len(mine_boxes))
        if grid is not None and m:
            # Each matched pair again, the reference's values on either side of a whole pixel as the other's.
            partner = other_boxes[overlap.argmax(axis=1)]
            paired = box_iou(on_pixel_grid(mine_boxes, *grid, toward=partner), partner)
            best = np.where(best > 0, np.diagonal(paired), best)
        ious += best[best >= 0.5].tolist()
        unmatched += int((best < 0.5).sum())
    total = len(ious) + unmatched
    return {"detections": total, "matched_share": round(len(ious) / total, 4) if total else 1.0,
            "min_matched_iou": round(float(min(ious)), 4) if ious else None,
            "mean_matched_iou": round(float(np.mean(ious)), 4) if ious else None,
            "images_with_equal_counts": round(counts_equal / max(images, 1), 4)}


def on_pixel_grid(boxes: np.ndarray, height: float, width: float, toward: Optional[np.ndarray] = None) -> np.ndarray:
    """Relative boxes as whole-pixel boxes of a (height, width) image give them back: the top-left
    corner and the size each truncated to whole pixels. With `toward` (whole-pixel boxes, one per
    box), a value within GRID_TOLERANCE_PX of a whole pixel takes `toward`'s side of it."""
    scale = np.array([height, width], dtype=np.float64)
    corner = _truncated(boxes[:, :2] * scale, None if toward is None else toward[:, :2] * scale)
    size = _truncated((boxes[:, 2:] - boxes[:, :2]) * scale,
                      None if toward is None else (toward[:, 2:] - toward[:, :2]) * scale)
    return np.concatenate([corner, corner + size], axis=1) / np.concatenate([scale, scale])


def _truncated(pixels: np.ndarray, toward: Optional[np.ndarray]) -> np.ndarray:
    truncated = np.floor(pixels)
    if toward is None:
        return truncated
    toward = np.round(toward)
    either = (toward == np.floor(pixels - GRID_TOLERANCE_PX)) | (toward == np.floor(pixels + GRID_TOLERANCE_PX))
    return np.where(either, toward, truncated)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU (A, B) of (A, 4) and (B, 4) boxes, y_min, x_min, y_max, x_max; numpy."""
    a, b = a[:, None, :].astype(np.float64), b[None, :, :].astype(np.float64)
    h = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    w = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = h * w
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter
    return inter / np.maximum(union, 1e-12)


class DetectionScorer(Scorer):
    def compare(self, reference, outputs, data) -> dict:
        return match_detections(reference, outputs)

    def headline_noise(self, data, targets, reference, outputs) -> float:
        from automl.verify import paired_noise

        return paired_noise(self.task, data, targets, reference, outputs, draws=NOISE_DRAWS)
