"""Cutting large images into model-sized tiles, and stitching predictions back.

Tiles overlap by `overlap` pixels; the last tile along a side is shifted to
end at the edge, so every pixel is covered and no tile is padded (images
smaller than a tile are reflect-padded once, up front). Stitching averages
overlapping predictions with weights that fall off towards tile edges,
where a convolution sees the least context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Box:
    """A rectangle of one source image: rows top..bottom, columns left..right (exclusive)."""

    image: int
    top: int
    left: int
    bottom: int
    right: int

    def crop(self, array: np.ndarray) -> np.ndarray:
        """The box's part of its image (or mask): a view, so it can also be written to."""
        return array[self.top:self.bottom, self.left:self.right]

    def overlaps(self, other: "Box") -> bool:
        return (self.image == other.image and self.top < other.bottom and other.top < self.bottom
                and self.left < other.right and other.left < self.right)


def starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile start offsets along one side of `length` pixels (`length` >= `tile`)."""
    if length < tile:
        raise ValueError(f"a side of {length} px is shorter than the tile. Received: tile={tile}")
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be at least 0 and less than the tile size {tile}. Received: overlap={overlap}")
    stride = tile - overlap
    out = list(range(0, length - tile + 1, stride))
    if out[-1] != length - tile:
        out.append(length - tile)
    return out


def tile_boxes(region: Box, tile: int, overlap: int) -> list[Box]:
    """Tiles covering a region, row by row."""
    return [Box(region.image, region.top + y, region.left + x, region.top + y + tile, region.left + x + tile)
            for y in starts(region.bottom - region.top, tile, overlap)
            for x in starts(region.right - region.left, tile, overlap)]


def region_grid(image: int, height: int, width: int, side: int) -> list[Box]:
    """Splits an image into a grid of regions about `side` px square (at least one)."""
    rows = np.linspace(0, height, max(1, height // side) + 1).astype(int)
    cols = np.linspace(0, width, max(1, width // side) + 1).astype(int)
    return [Box(image, int(t), int(l), int(b), int(r))
            for t, b in zip(rows[:-1], rows[1:]) for l, r in zip(cols[:-1], cols[1:])]


def pad_to(array: np.ndarray, tile: int) -> np.ndarray:
    """Reflect-pads the first two axes of an image or mask up to `tile` when smaller."""
    pad_h, pad_w = max(0, tile - array.shape[0]), max(0, tile - array.shape[1])
    if not pad_h and not pad_w:
        return array
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, widths, mode="symmetric")


def cut(array: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """The tiles of one image (H, W[, C]) at `boxes`, stacked."""
    return np.stack([b.crop(array) for b in boxes])


def blend_weights(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) weights: flat in the middle, ramping down over the overlap at the edges."""
    ramp = np.minimum(np.arange(1, tile + 1), np.arange(tile, 0, -1)).astype(np.float64)
    ramp = np.minimum(ramp, overlap // 2 + 1)
    return np.outer(ramp, ramp)


def stitch(predict: Callable[[np.ndarray], np.ndarray], image: np.ndarray, tile: int, overlap: int,
           batch: int = 32) -> np.ndarray:
    """Per-pixel outputs for a whole image from a model that takes tiles.

    Args:
        predict: maps tiles (N, tile, tile, C) to outputs (N, tile, tile, K).
        image: (H, W, C) pixels.
        tile: the model's input side.
        overlap: pixels shared by neighbouring tiles.

    Returns:
        (H, W, K) outputs, a weighted mean where tiles overlap.
    """
    height, width = image.shape[:2]
    padded = pad_to(image, tile)
    whole = Box(0, 0, 0, padded.shape[0], padded.shape[1])
    boxes = tile_boxes(whole, tile, overlap)
    weights = blend_weights(tile, overlap)[..., None]
    total = None
    norm = np.zeros(padded.shape[:2] + (1,))
    for first in range(0, len(boxes), batch):
        chunk = boxes[first:first + batch]
        outputs = np.asarray(predict(cut(padded, chunk).astype(np.float32)))
        if total is None:
            total = np.zeros(padded.shape[:2] + outputs.shape[-1:])
        for box, out in zip(chunk, outputs):
            box.crop(total)[...] += weights * out
            box.crop(norm)[...] += weights
    return (total / norm)[:height, :width].astype(np.float32)
