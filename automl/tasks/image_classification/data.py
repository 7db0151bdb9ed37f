"""Image classification data: folders, .npz, IDX files and in-memory arrays.

Everything is split once, seeded and stratified, before any training. Folders
stay on disk and stream through `tf.data`; arrays are already in memory.
TensorFlow is imported only when a `tf.data` pipeline is asked for.
"""

from __future__ import annotations

import gzip
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from automl.data.files import natural_key, read_npz
from automl.tasks.image_classification.folder import scan_folder
from automl.data.split import SplitParts, stratified_split
from automl.data.images import as_nhwc, limit_train, target_shape
from automl.errors import DataError

@dataclass
class ImageSplit:
    """One part of the data: labels plus either pixel arrays or file paths."""

    labels: np.ndarray
    arrays: Optional[np.ndarray] = None
    paths: Optional[list[str]] = None

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: np.ndarray) -> "ImageSplit":
        indices = np.asarray(indices, dtype=np.int64)
        return ImageSplit(
            labels=self.labels[indices],
            arrays=None if self.arrays is None else self.arrays[indices],
            paths=None if self.paths is None else [self.paths[i] for i in indices],
        )

    def to_dataset(self, image_shape: Sequence[int]):
        """A `tf.data.Dataset` of (float32 pixels in 0..255, int32 label), unbatched."""
        import tensorflow as tf

        height, width, channels = image_shape
        labels = tf.constant(self.labels, dtype=tf.int32)
        if self.arrays is not None:
            ds = tf.data.Dataset.from_tensor_slices((self.arrays, labels))
            return ds.map(lambda x, y: (tf.cast(x, tf.float32), y))

        def decode(path, label):
            raw = tf.io.read_file(path)
            image = tf.io.decode_image(raw, channels=channels, expand_animations=False)
            image = tf.image.resize(tf.cast(image, tf.float32), (height, width))
            image.set_shape((height, width, channels))
            return image, label

        ds = tf.data.Dataset.from_tensor_slices((tf.constant(self.paths), labels))
        return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)

    def to_numpy(self, image_shape: Sequence[int], limit: Optional[int] = None):
        """Pixels and labels as arrays (for evaluation, verification and plots)."""
        part = self if limit is None or limit >= len(self) else self.take(np.arange(limit))
        if part.arrays is not None:
            return part.arrays.astype(np.float32), part.labels
        images = [np.asarray(x) for x, _ in part.to_dataset(image_shape).as_numpy_iterator()]
        return np.stack(images).astype(np.float32), part.labels


@dataclass
class ImageData(SplitParts):
    """A split image classification data set and what is known about it."""

    class_names: list[str]
    image_shape: tuple[int, int, int]
    source: str
    split_method: str
    train: ImageSplit
    val: ImageSplit
    test: ImageSplit
    image_sizes: Counter = field(default_factory=Counter)
    skipped_files: list[dict] = field(default_factory=list)

    def facts(self) -> dict:
        """What a profile says of any image data set: source, sizes, split, shape, files left out."""
        height, width, channels = self.image_shape
        return {"source": self.source, "examples": int(sum(self.split_sizes().values())),
                "split_sizes": self.split_sizes(), "split_method": self.split_method,
                "image_size": [height, width], "channels": channels,
                "sizes_seen": {f"{h}x{w}": n for (h, w), n in self.image_sizes.most_common(5)},
                "skipped_files": self.skipped_files}



def _label_vector(labels, where: str) -> tuple[np.ndarray, list[str]]:
    """Integer labels 0..K-1 and the class names, from ints or strings."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DataError(f"{where}: expected a 1-D label vector. Received: shape={labels.shape}")
    names = sorted({str(v) for v in labels.tolist()}, key=natural_key)
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup[str(v)] for v in labels.tolist()], dtype=np.int64), names


# ---------------------------------------------------------------- readers


def read_idx(path: Path) -> np.ndarray:
    """Reads an IDX (MNIST-format) file, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise DataError(f"{path}: cannot read IDX file: {err}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: holds {body.size} bytes, its header promises shape {shape}")
    return body.reshape(shape)


def _find_idx(folder: Path, prefixes: Sequence[str], kind: str) -> Optional[Path]:
    for prefix in prefixes:
        hits = sorted(folder.glob(f"{prefix}*{kind}*"))
        if hits:
            return hits[0]
    return None


def load_idx_folder(folder: Path):
    """Train and (if present) test arrays from an MNIST-style IDX folder."""
    train_x = _find_idx(folder, ("train",), "images")
    train_y = _find_idx(folder, ("train",), "labels")
    if train_x is None or train_y is None:
        raise DataError(
            f"{folder}: expected IDX files named train-images-idx3-ubyte[.gz] and "
            f"train-labels-idx1-ubyte[.gz]. Found: {sorted(p.name for p in folder.iterdir())}"
        )
    parts = {"train": (read_idx(train_x), read_idx(train_y))}
    test_x = _find_idx(folder, ("t10k", "test"), "images")
    test_y = _find_idx(folder, ("t10k", "test"), "labels")
    if test_x is not None and test_y is not None:
        parts["test"] = (read_idx(test_x), read_idx(test_y))
    for name, (x, y) in parts.items():
        if len(x) != len(y):
            raise DataError(f"{folder}: {name} has {len(x)} images but {len(y)} labels")
    return parts


def load_npz(path: Path):
    archive = read_npz(path)
    keys = set(archive.files)
    for x_key, y_key in (("x_train", "y_train"), ("images", "labels"), ("x", "y")):
        if {x_key, y_key} <= keys:
            parts = {"train": (archive[x_key], archive[y_key])}
            if {"x_test", "y_test"} <= keys:
                parts["test"] = (archive["x_test"], archive["y_test"])
            return parts
    raise DataError(
        f"{path}: expected arrays named (x_train, y_train[, x_test, y_test]) or "
        f"(images, labels). Found: {sorted(keys)}"
    )


# ---------------------------------------------------------------- entry point


def detect_format(path: Path) -> str:
    if path.is_file() and path.suffix == ".npz":
        return "npz"
    if path.is_dir() and any(path.glob("*idx*-ubyte*")):
        return "idx"
    if path.is_dir():
        return "folder"
    raise DataError(f"{path}: cannot tell the data format; set data.format (folder, npz, idx)")


def load_image_data(data_config, seed: int, arrays=None) -> ImageData:
    """Loads and splits image classification data as `data_config` describes.

    Args:
        data_config: a `DataConfig`.
        seed: the run's seed; the split depends only on it and the data.
        arrays: optional `(images, labels)` passed through the Python API.
    """
    split_cfg = data_config.split
    skipped: list[dict] = []
    if arrays is not None:
        source, parts = "arrays", {"train": arrays}
    else:
        path = Path(data_config.path)
        source = data_config.format if data_config.format != "auto" else detect_format(path)
        if source == "folder":
            return _load_folder(path, data_config, seed)
        parts = load_idx_folder(path) if source == "idx" else load_npz(path)

    x_all, y_all = parts["train"]
    x_all = as_nhwc(x_all, f"{source} train images")
    y_all, names = _label_vector(y_all, f"{source} train labels")
    if len(x_all) != len(y_all):
        raise DataError(f"{source}: {len(x_all)} images but {len(y_all)} labels")
    whole = ImageSplit(labels=y_all, arrays=x_all)
    if "test" in parts:
        x_test = as_nhwc(parts["test"][0], f"{source} test images")
        y_test = np.asarray(parts["test"][1]).astype(str)
        unknown = sorted(set(y_test.tolist()) - set(names))
        if unknown:
            raise DataError(f"{source}: test labels {unknown[:5]} never occur in training labels")
        lookup = {n: i for i, n in enumerate(names)}
        test = ImageSplit(labels=np.array([lookup[v] for v in y_test]), arrays=x_test)
        idx = stratified_split(y_all, val=split_cfg.val, test=0.0, seed=seed)
        train, val = whole.take(idx.train), whole.take(idx.val)
        method = "provided test part; stratified seeded val split of the training part"
    else:
        idx = stratified_split(y_all, split_cfg.val, split_cfg.test, seed)
        train, val, test = whole.take(idx.train), whole.take(idx.val), whole.take(idx.test)
        method = "stratified, seeded"
    shape = target_shape(data_config.image_size, Counter({x_all.shape[1:3]: len(x_all)}), x_all.shape[-1])
    if shape[:2] != x_all.shape[1:3]:
        raise DataError(
            f"data.image_size={list(shape[:2])} differs from the arrays' size "
            f"{list(x_all.shape[1:3])}; resize arrays before passing them"
        )
    check_parts({"train": train, "val": val, "test": test}, names, source if arrays is not None else str(path))
    names = _named_classes(data_config, names)
    data = ImageData(names, shape, source, method, train, val, test,
                     Counter({x_all.shape[1:3]: len(x_all)}), skipped)
    return limit_train(data, data_config.max_examples, seed)


def _load_folder(path: Path, data_config, seed: int) -> ImageData:
    scan = scan_folder(path, data_config.on_bad_file)
    whole = ImageSplit(labels=scan.labels, paths=scan.paths)
    cfg = data_config.split
    if scan.parts is None:
        idx = stratified_split(scan.labels, cfg.val, cfg.test, seed)
        parts, method = (idx.train, idx.val, idx.test), "stratified, seeded"
    else:
        parts, method = _shipped_split(np.array(scan.parts), scan.labels, cfg, seed)
    train, val, test = (whole.take(i) for i in parts)
    check_parts({"train": train, "val": val, "test": test}, scan.class_names, str(path))
    shape = target_shape(data_config.image_size, scan.sizes, scan.channels)
    data = ImageData(_named_classes(data_config, scan.class_names), shape, "folder", method,
                     train, val, test, scan.sizes, scan.bad)
    return limit_train(data, data_config.max_examples, seed)


def _shipped_split(part_of: np.ndarray, labels: np.ndarray, cfg, seed: int):
    """Indices of the folder's own parts; a part it lacks is a stratified, seeded share of train/."""
    given = {part: np.flatnonzero(part_of == part) for part in ("train", "val", "test")}
    missing = [part for part in ("val", "test") if not len(given[part])]
    train = given["train"]
    carved = stratified_split(labels[train], cfg.val if "val" in missing else 0.0,
                              cfg.test if "test" in missing else 0.0, seed)
    val = train[carved.val] if "val" in missing else given["val"]
    test = train[carved.test] if "test" in missing else given["test"]
    method = f"the folder's own {'/'.join(p for p in ('train', 'val', 'test') if p not in missing)} parts"
    if missing:
        method += f"; {' and '.join(missing)} a stratified, seeded share of train/"
    return (train[carved.train], val, test), method


def check_parts(parts: dict, class_names: list[str], where: str) -> None:
    """Every part of the split must hold examples, and training every class."""
    counts = {name: np.bincount(part.labels, minlength=len(class_names)) for name, part in parts.items()}
    for name, part in parts.items():
        if len(part) == 0:
            total = sum(c.sum() for c in counts.values())
            per_class = sum(counts.values())
            smallest = int(per_class.argmin())
            raise DataError(f"{where}: {total} examples leave the {name} part empty; each class needs at least 3 "
                            f"(one each for training, validation and test), and {class_names[smallest]!r} has "
                            f"{per_class[smallest]}. Add examples, or raise data.split.val / data.split.test")
    untrained = [class_names[i] for i in np.flatnonzero(counts["train"] == 0)]
    if untrained:
        raise DataError(f"{where}: class(es) {', '.join(untrained)} have no training examples")


def _named_classes(data_config, names: list[str]) -> list[str]:
    given = getattr(data_config, "class_names", None)
    if not given:
        return names
    if len(given) != len(names):
        raise DataError(
            f"data.class_names has {len(given)} names but the data has {len(names)} classes"
        )
    return list(given)
