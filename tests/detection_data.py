"""Detection data sets made offline from data that packages ship, for tests, pipelines and benchmarks.

- `fashion_scenes`: Fashion-MNIST items (Debian `dataset-fashion-mnist`, MIT) pasted on larger canvases,
  1-4 per canvas at varied sizes, in the YOLO layout. Synthetic scenes of real items: exact boxes, ten classes.
- `nuclei_tiles`: stardist's fluorescence nuclei (`img2d.tif` and its instance mask `mask2d.tif`,
  BSD-3-Clause) cut into tiles, one box per nucleus, in the COCO layout. Real, one class.

Usage: python tests/detection_data.py scenes|nuclei OUT [--count N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.conftest import FASHION_MNIST, NUCLEI_IMAGE, NUCLEI_MASK  # noqa: E402

FASHION_CLASSES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle_boot"]


def fashion_scenes(out: Path, count: int, seed: int = 0, canvas=(96, 128), per_image=(1, 4),
                   item_sides=(20, 56), max_overlap: float = 0.25) -> Path:
    """`count` grey canvases of `canvas` px sides with `per_image` Fashion-MNIST items each (drawn from the
    training images, a side of `item_sides` px, overlapping earlier items by at most `max_overlap` of
    their box), on faint noise; YOLO labels are each item's tight box of non-zero pixels."""
    from PIL import Image

    from automl.tasks.image_classification.data import load_idx_folder

    items, labels = load_idx_folder(FASHION_MNIST)["train"]
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "data.yaml").write_text("names: [" + ", ".join(FASHION_CLASSES) + "]\n")
    for n in range(count):
        side = int(rng.integers(canvas[0], canvas[1] + 1))
        scene = rng.integers(0, 24, (side, side)).astype(np.float32)
        lines, placed = [], []
        for _ in range(int(rng.integers(per_image[0], per_image[1] + 1))):
            pick = int(rng.integers(len(items)))
            size = int(rng.integers(item_sides[0], min(item_sides[1], side) + 1))
            item = np.asarray(Image.fromarray(items[pick]).resize((size, size), Image.BILINEAR), dtype=np.float32)
            rows, cols = np.flatnonzero(item.max(1) > 20), np.flatnonzero(item.max(0) > 20)
            for _ in range(20):  # a place that hides no earlier item
                y, x = int(rng.integers(0, side - size + 1)), int(rng.integers(0, side - size + 1))
                box = (x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1)
                if all(_overlap(box, other) <= max_overlap for other in placed):
                    break
            else:
                continue
            scene[y:y + size, x:x + size] = np.maximum(scene[y:y + size, x:x + size], item)
            placed.append(box)
            x0, y0, x1, y1 = box
            lines.append(f"{labels[pick]} {(x0 + x1) / 2 / side:.6f} {(y0 + y1) / 2 / side:.6f} "
                         f"{(x1 - x0) / side:.6f} {(y1 - y0) / side:.6f}")
        Image.fromarray(scene.clip(0, 255).astype(np.uint8)).save(out / "images" / f"scene_{n:05d}.png")
        (out / "labels" / f"scene_{n:05d}.txt").write_text("\n".join(lines) + "\n")
    return out


def _overlap(box, other) -> float:
    """The share of the smaller box that the two boxes share."""
    w = min(box[2], other[2]) - max(box[0], other[0])
    h = min(box[3], other[3]) - max(box[1], other[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((box[2] - box[0]) * (box[3] - box[1]), (other[2] - other[0]) * (other[3] - other[1]))
    return w * h / smaller


def nuclei_tiles(out: Path, tile: int = 64, stride: int = 64, min_visible: float = 0.5, region: int | None = None,
                 held_regions: int = 2, seed: int = 0) -> Path:
    """Tiles of stardist's nuclei image as 8-bit PNGs and a COCO JSON: a box around each nucleus's pixels
    inside the tile, for the nuclei with at least `min_visible` of their pixels inside (a nucleus cut
    more than that by the tile's edge is left out of that tile's boxes).

    Without `region`, tiles of the whole image that do not overlap by default, split later by image.
    With `region` (a side in px), the image is cut into square regions first, `held_regions` of them
    (seeded) go to val/ and as many to test/, the rest to train/, and each region is tiled on its own
    (tiles may overlap within a region, never across parts): more tiles without leaking a pixel."""
    import tifffile
    from PIL import Image

    image, mask = tifffile.imread(NUCLEI_IMAGE), tifffile.imread(NUCLEI_MASK)
    top = float(np.percentile(image, 99.8))
    image = np.clip(image.astype(np.float32) * 255.0 / top, 0, 255).astype(np.uint8)
    areas = np.bincount(mask.ravel())
    side = region or mask.shape[0]
    corners = [(y, x) for y in range(0, mask.shape[0] - side + 1, side) for x in range(0, mask.shape[1] - side + 1, side)]
    parts = [""] * len(corners)
    if region:
        order = np.random.default_rng(seed).permutation(len(corners))
        parts = ["train"] * len(corners)
        for k, index in enumerate(order[:2 * held_regions]):
            parts[index] = "val" if k < held_regions else "test"
    images, annotations = [], []
    for (top_y, left_x), part in zip(corners, parts):
        (out / "images" / part).mkdir(parents=True, exist_ok=True)
        for y in range(top_y, top_y + side - tile + 1, stride):
            for x in range(left_x, left_x + side - tile + 1, stride):
                name = str(Path(part) / f"tile_y{y:03d}_x{x:03d}.png") if part else f"tile_y{y:03d}_x{x:03d}.png"
                Image.fromarray(image[y:y + tile, x:x + tile]).save(out / "images" / name)
                images.append({"id": len(images) + 1, "file_name": name, "width": tile, "height": tile})
                window = mask[y:y + tile, x:x + tile]
                for instance in np.unique(window[window > 0]):
                    rows, cols = np.nonzero(window == instance)
                    if len(rows) < min_visible * areas[instance]:
                        continue
                    annotations.append({"id": len(annotations) + 1, "image_id": len(images), "category_id": 1,
                                        "iscrowd": 0, "bbox": [int(cols.min()), int(rows.min()),
                                                               int(cols.max() - cols.min() + 1),
                                                               int(rows.max() - rows.min() + 1)]})
    (out / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                      "categories": [{"id": 1, "name": "nucleus"}]}))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["scenes", "nuclei"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=4000, help="scenes to make")
    parser.add_argument("--regions", action="store_true",
                        help="nuclei: 128-px regions dealt to train/val/test, tiled with a 16-px stride")
    args = parser.parse_args()
    if args.kind == "scenes":
        made = fashion_scenes(args.out, args.count)
    else:
        made = nuclei_tiles(args.out, stride=16, region=128) if args.regions else nuclei_tiles(args.out)
    print(made)
