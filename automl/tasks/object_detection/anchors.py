"""Anchors: the boxes each cell of each pyramid level starts from, sized from the data's boxes.

A RetinaNet places anchors of 4 strides (32 px at stride 8) whatever the data;
boxes much smaller than the finest level's anchor then match no anchor well.
Here the finest level's base side is the 10th percentile of the training
boxes' sides at the input size (at least one stride), and each coarser level
doubles it, as the strides do; each cell has `SCALES` sizes between one level
and the next and the aspect ratios the boxes show (width / height: 1, plus
1/2 and 2 when a tenth of the boxes lean that way).

Boxes and anchors are y_min, x_min, y_max, x_max relative to the image
(`data.py`); box regressions are the centre's shift in anchor sizes and the
log of the size ratio, divided by `VARIANCE` (so the targets are near unit scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Anchor sizes per level: 2**(k / SCALES) for k < SCALES.
SCALES = 3
VARIANCE = np.array([0.1, 0.1, 0.2, 0.2], dtype=np.float32)


@dataclass(frozen=True)
class AnchorPlan:
    """How anchors are laid: the levels (strides 2**level), the finest level's base side in pixels and
    the aspect ratios (width / height)."""

    levels: tuple[int, ...]
    base_side: float
    aspect_ratios: tuple[float, ...]

    @property
    def per_cell(self) -> int:
        return SCALES * len(self.aspect_ratios)

    def anchors(self, input_size: int) -> np.ndarray:
        """(A, 4) anchors, level after level, cell after cell (row-major), then sizes and ratios: the
        order the head's outputs are flattened in."""
        every = []
        for n, level in enumerate(self.levels):
            stride = 2 ** level
            cells = input_size // stride
            centres = (np.arange(cells, dtype=np.float32) + 0.5) * stride
            cy, cx = np.meshgrid(centres, centres, indexing="ij")
            shapes = []
            for k in range(SCALES):
                side = self.base_side * 2 ** n * 2 ** (k / SCALES)
                for ratio in self.aspect_ratios:
                    shapes.append((side / np.sqrt(ratio), side * np.sqrt(ratio)))  # (height, width)
            shapes = np.array(shapes, dtype=np.float32)
            h, w = shapes[None, None, :, 0], shapes[None, None, :, 1]
            level_anchors = np.stack([cy[..., None] - h / 2, cx[..., None] - w / 2,
                                      cy[..., None] + h / 2, cx[..., None] + w / 2], axis=-1)
            every.append(level_anchors.reshape(-1, 4))
        return (np.concatenate(every) / input_size).astype(np.float32)

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "base_side": round(self.base_side, 2),
                "aspect_ratios": list(self.aspect_ratios), "scales": SCALES}


def plan_anchors(boxes: np.ndarray, input_size: int, levels=(3, 4, 5)) -> AnchorPlan:
    """The plan for training boxes (N, 4) relative to the image (y_min, x_min, y_max, x_max)."""
    heights = (boxes[:, 2] - boxes[:, 0]) * input_size
    widths = (boxes[:, 3] - boxes[:, 1]) * input_size
    sides = np.sqrt(np.maximum(heights * widths, 1e-6))
    base = max(float(np.percentile(sides, 10)), 2.0 ** levels[0])
    ratios = np.log2(np.maximum(widths, 1e-6) / np.maximum(heights, 1e-6))
    aspect = [1.0]
    if np.mean(ratios < -0.75) >= 0.1:
        aspect.insert(0, 0.5)
    if np.mean(ratios > 0.75) >= 0.1:
        aspect.append(2.0)
    return AnchorPlan(tuple(levels), base, tuple(aspect))


def encode(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Regression targets of `boxes` against `anchors` (same shape, last axis 4), numpy or keras.ops."""
    from keras import ops

    ah, aw = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    bh = ops.maximum(boxes[..., 2] - boxes[..., 0], 1e-6)
    bw = ops.maximum(boxes[..., 3] - boxes[..., 1], 1e-6)
    dy = ((boxes[..., 0] + boxes[..., 2]) - (anchors[..., 0] + anchors[..., 2])) / 2 / ah
    dx = ((boxes[..., 1] + boxes[..., 3]) - (anchors[..., 1] + anchors[..., 3])) / 2 / aw
    return ops.stack([dy, dx, ops.log(bh / ah), ops.log(bw / aw)], axis=-1) / VARIANCE


def decode(deltas, anchors):
    """Boxes from regressions (the inverse of `encode`), clipped to the image; keras.ops."""
    from keras import ops

    deltas = deltas * VARIANCE
    ah, aw = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    cy = (anchors[..., 0] + anchors[..., 2]) / 2 + deltas[..., 0] * ah
    cx = (anchors[..., 1] + anchors[..., 3]) / 2 + deltas[..., 1] * aw
    h = ah * ops.exp(ops.minimum(deltas[..., 2], 4.0))
    w = aw * ops.exp(ops.minimum(deltas[..., 3], 4.0))
    return ops.clip(ops.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=-1), 0.0, 1.0)


def iou(boxes_a, boxes_b):
    """Pairwise IoU (..., A, B) of (..., A, 4) and (..., B, 4) boxes; keras.ops."""
    from keras import ops

    a, b = boxes_a[..., :, None, :], boxes_b[..., None, :, :]
    h = ops.maximum(ops.minimum(a[..., 2], b[..., 2]) - ops.maximum(a[..., 0], b[..., 0]), 0.0)
    w = ops.maximum(ops.minimum(a[..., 3], b[..., 3]) - ops.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = h * w
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / ops.maximum(area_a + area_b - inter, 1e-9)
