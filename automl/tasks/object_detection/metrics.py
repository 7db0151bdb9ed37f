"""Detection metrics as COCO computes them (pycocotools): mAP over IoU 0.5:0.95, AP at 0.5 and 0.75, AP
per class at 0.5:0.95 and 0.5, and the precision-recall curve at IoU 0.5.

Boxes in and out are y_min, x_min, y_max, x_max relative to the image; they are scored in pixels of
a `scale`-pixel square (the model's input), so COCO's small/medium/large areas are not used (-1 in
their fields means that, as COCO writes it).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np


def coco_metrics(true_boxes: np.ndarray, true_classes: np.ndarray, boxes: np.ndarray, classes: np.ndarray,
                 scores: np.ndarray, counts: np.ndarray, class_names: list[str], scale: int) -> dict:
    """Metrics of detections (boxes (N, D, 4), classes (N, D), scores (N, D), counts (N,)) against the
    true boxes (N, M, 4) and classes (N, M; -1 pads) of N images."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(box):
        y0, x0, y1, x1 = (float(v) * scale for v in box)
        return [x0, y0, x1 - x0, y1 - y0]

    images, annotations = [], []
    for i in range(len(true_boxes)):
        images.append({"id": i, "width": scale, "height": scale})
        for box, klass in zip(true_boxes[i], true_classes[i]):
            if klass < 0:
                continue
            x, y, w, h = xywh(box)
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(klass),
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    detections = [[i, *xywh(boxes[i, d]), float(scores[i, d]), int(classes[i, d])]
                  for i in range(len(boxes)) for d in range(int(counts[i]))]
    truth = COCO()
    truth.dataset = {"images": images, "annotations": annotations,
                     "categories": [{"id": k, "name": name} for k, name in enumerate(class_names)]}
    with contextlib.redirect_stdout(io.StringIO()):
        truth.createIndex()
        if not detections:
            return _nothing_found(class_names)
        found = truth.loadRes(np.asarray(detections, dtype=np.float64))
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"]  # (IoU thresholds, recall points, classes, areas, max detections)
    present = [k for k in range(len(class_names)) if any(a["category_id"] == k for a in annotations)]

    def ap(values):
        values = values[values > -1]
        return float(values.mean()) if len(values) else float("nan")

    per_class = {class_names[k]: {"ap": ap(precision[:, :, k, 0, -1]), "ap50": ap(precision[0, :, k, 0, -1])}
                 for k in present}
    curve = precision[0, :, present, 0, -1]  # (classes, 101 recall points)
    curve = np.where(curve > -1, curve, np.nan)
    return {"map": float(evaluation.stats[0]), "ap50": float(evaluation.stats[1]), "ap75": float(evaluation.stats[2]),
            "recall_at_100": float(evaluation.stats[8]), "per_class": per_class,
            "pr_curve_iou50": {"recall": evaluation.params.recThrs.round(2).tolist(),
                               "precision": np.nan_to_num(np.nanmean(curve, axis=0)).round(4).tolist()},
            "images": int(len(true_boxes)), "boxes": int(len(annotations)), "detections": int(len(detections))}


def _nothing_found(class_names: list[str]) -> dict:
    return {"map": 0.0, "ap50": 0.0, "ap75": 0.0, "recall_at_100": 0.0,
            "per_class": {name: {"ap": 0.0, "ap50": 0.0} for name in class_names},
            "pr_curve_iou50": {"recall": [], "precision": []}, "detections": 0}
