"""Object detection data: annotated images resized to the model's square input, split by image.

The annotations (`annotations.py`) are checked whole before any pixel is read.
Images are resized to one square side (stretched, as the fixed-shape resizers
of phone detectors do), so a box's corners relative to the image are the same
before and after; boxes are kept that way, as y_min, x_min, y_max, x_max in
0..1 (the order TensorFlow's box ops and MediaPipe's detector use), padded
to the most boxes any image has (padding rows have class -1).

The split keeps whole images together: the folders' own parts when the images
sit in train/, val/ (or valid/) and test/ subfolders, else a seeded split
stratified by each image's rarest class (images without boxes as a class of
their own), so a rare class reaches every part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.data.split import SplitParts, stratified_split
from automl.errors import DataError
from automl.tasks.object_detection.anchors import AnchorPlan, plan_anchors
from automl.tasks.object_detection.annotations import Annotations, ImageBoxes, read_annotations

#: The finest feature map's stride, and how many of its cells the smallest boxes should span.
FINEST_STRIDE = 8
MIN_BOX_CELLS = 1.5
#: auto input sizes lie in this range (pixels, multiples of 32).
AUTO_SIZES = (96, 512)
#: Subfolder names that give the split (YOLO and Roboflow exports use them).
PART_FOLDERS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                "test": "test", "testing": "test"}


@dataclass
class BoxSet:
    """One part of the split, at the model's input size."""

    images: np.ndarray  # (N, S, S, 3) uint8
    boxes: np.ndarray  # (N, M, 4) float32: y_min, x_min, y_max, x_max relative to the image
    classes: np.ndarray  # (N, M) int32; -1 pads
    names: list[str]  # each image's file, for reports and errors

    def __len__(self) -> int:
        return len(self.images)

    def take(self, indices) -> "BoxSet":
        indices = np.asarray(indices, dtype=np.int64)
        return BoxSet(self.images[indices], self.boxes[indices], self.classes[indices],
                      [self.names[i] for i in indices])


@dataclass
class DetectionData(SplitParts):
    class_names: list[str]
    source: str
    layout: str
    names_from: str
    input_size: int
    input_size_why: str
    split_method: str
    train: BoxSet
    val: BoxSet
    test: BoxSet
    #: Every annotated image as read (pixel boxes, original sizes), for the profile.
    annotations: list[ImageBoxes]
    skipped: dict
    #: Anchors sized from the training boxes (`anchors.plan_anchors`).
    anchor_plan: AnchorPlan

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.input_size, self.input_size, 3

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_detection_data(data_config, seed: int) -> DetectionData:
    """Reads and checks the annotations, chooses the input size, splits by image and reads the pixels.

    Args:
        seed: the run's seed; the split depends only on it and the data.
    """
    annotations = read_annotations(data_config.path, data_config.format, data_config.class_names)
    size, why = choose_input_size(annotations.images, data_config.input_size)
    parts, method = split_images(annotations, data_config.split, seed)
    most = max(1, max(len(image.boxes) for image in annotations.images))
    sets = {part: _box_set([annotations.images[i] for i in indices], size, most) for part, indices in parts.items()}
    train = sets["train"]
    if not (train.classes >= 0).any():
        raise DataError(f"{annotations.source}: the training part's {len(train)} image(s) hold no box; a detector "
                        f"learns from boxes")
    plan = plan_anchors(train.boxes[train.classes >= 0], size)
    return DetectionData(annotations.class_names, annotations.source, annotations.layout, annotations.names_from,
                         size, why, method, train, sets["val"], sets["test"], annotations.images,
                         annotations.skipped, plan)


def choose_input_size(images: list[ImageBoxes], wanted) -> tuple[int, str]:
    """The square side the images are resized to, and why: as asked, or (auto) the smallest multiple of
    32 at which the 10th percentile of the boxes' shorter sides spans MIN_BOX_CELLS cells of the finest
    stride, no larger than the images' median longer side (rounded up to 32), within AUTO_SIZES."""
    if wanted != "auto":
        return int(wanted), "data.input_size"
    relative = np.concatenate([np.minimum((image.boxes[:, 2] - image.boxes[:, 0]) / image.width,
                                          (image.boxes[:, 3] - image.boxes[:, 1]) / image.height)
                               for image in images if len(image.boxes)])
    small = float(np.percentile(relative, 10))
    needed = _multiple_of_32(FINEST_STRIDE * MIN_BOX_CELLS / max(small, 1e-6))
    largest = _multiple_of_32(float(np.median([max(image.width, image.height) for image in images])))
    size = int(np.clip(min(needed, largest), *AUTO_SIZES))
    return size, (f"the smallest boxes (10th percentile of the shorter side: {small:.1%} of the image) span "
                  f"{MIN_BOX_CELLS:g} cells of {FINEST_STRIDE} px at {needed} px; the images' median longer side "
                  f"is {largest} px; auto stays within {AUTO_SIZES[0]}-{AUTO_SIZES[1]}")


def _multiple_of_32(value: float) -> int:
    return int(np.ceil(value / 32.0) * 32)


def split_images(annotations: Annotations, split_config, seed: int) -> tuple[dict[str, np.ndarray], str]:
    """Indices of each part's images, and how the split was made."""
    folders = [_part_folder(image.path, Path(annotations.source)) for image in annotations.images]
    if all(folders) and {"train", "val"} <= set(folders):
        parts = {part: np.flatnonzero(np.array(folders) == part) for part in ("train", "val", "test")}
        if not len(parts["test"]):  # the folders hold no test part: the val part gives one
            held = stratified_split(_strata(annotations, parts["val"]), 0.5, 0.01, seed)
            parts["val"], parts["test"] = parts["val"][held.train], parts["val"][np.r_[held.val, held.test]]
            return parts, "the folders' train/ and val/ parts; val halved into validation and test"
        return parts, "the folders' train/, val/ and test/ parts"
    everything = np.arange(len(annotations.images))
    split = stratified_split(_strata(annotations, everything), split_config.val, split_config.test, seed)
    for part in ("train", "val", "test"):
        if not len(getattr(split, part)):
            raise DataError(f"{annotations.source}: {len(everything)} image(s) leave the {part} part empty; "
                            f"a detector needs at least a few images in each part")
    return {"train": split.train, "val": split.val, "test": split.test}, "images, stratified by their rarest class"


def _part_folder(path: Path, source: Path) -> str:
    root = source if source.is_dir() else source.parent
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return ""
    return next((PART_FOLDERS[p.lower()] for p in parts[:-1] if p.lower() in PART_FOLDERS), "")


def _strata(annotations: Annotations, indices: np.ndarray) -> np.ndarray:
    """Each image's rarest class (the number of classes for an image without boxes)."""
    counts = np.bincount(np.concatenate([image.classes for image in annotations.images]),
                         minlength=len(annotations.class_names))
    rarest = [min(image.classes, key=lambda c: counts[c]) if len(image.classes) else len(counts)
              for image in (annotations.images[i] for i in indices)]
    return np.asarray(rarest, dtype=np.int64)


def _box_set(images: list[ImageBoxes], size: int, most: int) -> BoxSet:
    pixels = np.zeros((len(images), size, size, 3), dtype=np.uint8)
    boxes = np.zeros((len(images), most, 4), dtype=np.float32)
    classes = np.full((len(images), most), -1, dtype=np.int32)
    for i, image in enumerate(images):
        pixels[i] = read_resized(image.path, size)
        n = len(image.boxes)
        scale = np.array([image.width, image.height, image.width, image.height], dtype=np.float32)
        boxes[i, :n] = (image.boxes / scale)[:, [1, 0, 3, 2]]
        classes[i, :n] = image.classes
    return BoxSet(pixels, boxes, classes, [str(image.path) for image in images])


def read_resized(path: Path, size: int) -> np.ndarray:
    """An image file as (size, size, 3) uint8 RGB (`as_rgb_uint8`)."""
    from automl.data.images import read_image

    return as_rgb_uint8(read_image(Path(path)), size)


def as_rgb_uint8(pixels: np.ndarray, size: int | None) -> np.ndarray:
    """(size, size, 3) uint8 RGB, stretched (None: the image's own size): grey repeated, alpha dropped,
    more than 8 bits per value scaled down by the image's own 99.8th percentile."""
    from PIL import Image

    if pixels.dtype != np.uint8:
        top = float(np.percentile(pixels, 99.8)) or 1.0
        pixels = np.clip(pixels.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    pixels = np.repeat(pixels[..., :1], 3, axis=-1) if pixels.shape[-1] < 3 else pixels[..., :3]  # grey (+ alpha)
    if size is None:
        return np.ascontiguousarray(pixels)
    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.BILINEAR))
