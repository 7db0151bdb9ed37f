"""Image generation data: every source image classification reads, with or without labels.

Labelled sources (class folders, IDX, `.npz` with labels, `(images, labels)` arrays)
load exactly as for classification; their labels feed the quality metric's
classifier and the class-conditional generator. A generator also learns from
images alone: a flat folder of images, an `.npz` holding only images
(`x_train`, `images` or `x`), or one array through the Python API.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from automl.data.files import is_hidden, read_npz
from automl.data.split import stratified_split
from automl.errors import DataError
from automl.data.images import as_nhwc, limit_train, target_shape
from automl.tasks.image_classification.data import ImageData, ImageSplit, detect_format, load_image_data
from automl.tasks.image_classification.folder import SCANNED_SUFFIXES, check_image

#: The one "class" of images without labels.
UNLABELLED = "images"
#: Arrays an image-only `.npz` may name (training images; test images beside them).
IMAGE_ONLY_KEYS = ("x_train", "images", "x")


#: Real images a scored part needs: precision, recall, density and coverage use each image's 5th
#: nearest neighbour.
MIN_SCORED_IMAGES = 6


@dataclass
class GenerationData(ImageData):
    """Image data for a generator: `labelled` says whether `labels` mean classes.

    The task fills in what scoring needs, once per run (`GanScorer.before_search`,
    `GeneratorAlone.choose`, `eval_arrays`): it is state of the data, the same for every scorer.
    """

    labelled: bool = True
    #: The feature network and the real validation features every epoch is scored against.
    quality: Optional[object] = None
    #: The real test images' features, and the distance between its two halves (the floor).
    test_features: Optional[np.ndarray] = None
    floor: Optional[float] = None
    #: The untrained generator's distance (for scale), and the class ids the test samples asked for.
    untrained: Optional[float] = None
    requested: Optional[np.ndarray] = None
    #: The whole test part in [-1, 1] and its labels, decoded once (`ImageGeneration.unit_images`).
    unit_test: Optional[tuple] = None
    #: Where each epoch's first samples go (the report shows the last training's).
    samples_path: Optional[Path] = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.labelled else 0


def load_generation_data(data_config, seed: int, arrays=None) -> GenerationData:
    """Loads and splits images (seeded; stratified when labelled), as `data_config` describes.

    `arrays`: `(images, labels)` or images alone, from the Python API.
    """
    unlabelled = _unlabelled_source(data_config, arrays)
    if unlabelled is None:
        data = load_image_data(data_config, seed, arrays)
        labelled = data_config.use_labels and len(data.class_names) > 1
    else:
        data, labelled = _split_unlabelled(data_config, seed, *unlabelled), False
    if not labelled:
        for part in (data.train, data.val, data.test):
            part.labels = np.zeros(len(part), dtype=np.int64)
        data.class_names = [UNLABELLED]
    for part in ("val", "test"):  # checked now, not after training
        count = len(getattr(data, part))
        if count < MIN_SCORED_IMAGES:
            raise DataError(f"{data_config.path}: the {part} part has {count} image(s); image generation scores "
                            f"its samples against at least {MIN_SCORED_IMAGES} real ones per part (their nearest "
                            f"neighbours among {MIN_SCORED_IMAGES - 1} others): add images, or give the {part} "
                            f"part a larger share (data.split.{part})")
    return GenerationData(**{name: getattr(data, name) for name in data.__dataclass_fields__}, labelled=labelled)


def _unlabelled_source(data_config, arrays):
    """(source name, parts) for a source without labels, or None when it has them.

    parts: {"train": images array or file paths, optionally "test": ...}.
    """
    if arrays is not None:
        if isinstance(arrays, (tuple, list)) and len(arrays) == 2:
            return None
        return "arrays", {"train": np.asarray(arrays)}
    path = Path(data_config.path)
    source = data_config.format if data_config.format != "auto" else detect_format(path)
    if source == "npz":
        archive = read_npz(path)
        keys = set(archive.files)
        if {"y_train", "labels", "y"} & keys:
            return None
        for key in IMAGE_ONLY_KEYS:
            if key in keys:
                parts = {"train": archive[key]}
                if "x_test" in keys:
                    parts["test"] = archive["x_test"]
                return "npz", parts
        raise DataError(f"{path}: expected images named {', '.join(IMAGE_ONLY_KEYS)} (with labels "
                        f"y_train / labels / y, or without). Found: {sorted(keys)}")
    if source == "folder":
        files = _flat_image_files(path)
        if files:
            return "folder", {"train": files}
    return None


def _flat_image_files(folder: Path) -> list[Path]:
    """Image files directly in `folder`; a folder of class folders holds none."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in SCANNED_SUFFIXES and not is_hidden(p))


def _split_unlabelled(data_config, seed: int, source: str, parts: dict) -> ImageData:
    """A seeded split of images without labels (the shipped test part kept)."""
    skipped: list[dict] = []
    if source == "folder":
        whole, sizes, channels, skipped = _checked_files(parts["train"], data_config.on_bad_file)
        test = None
    else:
        images = as_nhwc(parts["train"], f"{source} images")
        whole = ImageSplit(labels=np.zeros(len(images), dtype=np.int64), arrays=images)
        sizes, channels = Counter({images.shape[1:3]: len(images)}), images.shape[-1]
        test = None
        if "test" in parts:
            test_images = as_nhwc(parts["test"], f"{source} test images")
            test = ImageSplit(labels=np.zeros(len(test_images), dtype=np.int64), arrays=test_images)
    cfg = data_config.split
    idx = stratified_split(whole.labels, cfg.val, 0.0 if test is not None else cfg.test, seed)
    train, val = whole.take(idx.train), whole.take(idx.val)
    test = test if test is not None else whole.take(idx.test)
    method = "provided test part; seeded val split" if "test" in parts else "seeded"
    where = data_config.path if source != "arrays" else "arrays"
    for name, part in (("train", train), ("val", val), ("test", test)):
        if len(part) == 0:
            raise DataError(f"{where}: {len(whole)} images leave the {name} part empty; give at least 3 images, "
                            f"or raise data.split.val / data.split.test")
    shape = target_shape(data_config.image_size, sizes, channels)
    if whole.arrays is not None and shape[:2] != whole.arrays.shape[1:3]:
        raise DataError(f"data.image_size={list(shape[:2])} differs from the arrays' size "
                        f"{list(whole.arrays.shape[1:3])}; resize arrays before passing them")
    data = ImageData([UNLABELLED], shape, source, method, train, val, test, sizes, skipped)
    return limit_train(data, data_config.max_examples, seed)


def _checked_files(files: list[Path], on_bad_file: str):
    """The readable images among `files`: (split, sizes, channels, files left out)."""
    good, bad, sizes, modes = [], [], Counter(), Counter()
    for path in files:
        try:
            size, mode = check_image(path)
        except DataError as err:
            bad.append({"path": str(path), "error": str(err)})
            continue
        good.append(str(path))
        sizes[size] += 1
        modes[mode] += 1
    if bad and on_bad_file == "error":
        raise DataError(f"{bad[0]['path']}: {bad[0]['error']}"
                        + (f" (and {len(bad) - 1} more file(s) that cannot be used)" if len(bad) > 1 else "")
                        + "; set data.on_bad_file: skip to leave such files out and list them in the report")
    grayscale = all(mode in ("L", "1", "I", "I;16", "LA") for mode in modes)
    split = ImageSplit(labels=np.zeros(len(good), dtype=np.int64), paths=good)
    return split, sizes, 1 if grayscale else 3, bad


def class_shares(labels: np.ndarray, num_classes: int) -> list[float]:
    """Share of each class among `labels`, in class order."""
    return (np.bincount(labels, minlength=num_classes)[:num_classes] / max(len(labels), 1)).tolist()
