"""Image classification folders as people ship them.

Two layouts are read:

- one subfolder per class (`flowers/daisy/*.jpg`, `flowers/rose/*.jpg`), split
  by automl;
- `train/` and `test/` (and optionally `val/` or `validation/`), each holding
  the class subfolders: those parts are the split.

Hidden files and folders (`.ipynb_checkpoints/`, `.DS_Store`, `__MACOSX/`) are
ignored. Every image is opened and checked to be in a format the training
pipeline (TensorFlow) decodes, so a file that passes here cannot fail a trial.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from automl.data.files import IMAGE_SUFFIXES, is_hidden, visible_dirs
from automl.errors import DataError

#: TIFF is read only to name it as unsupported.
SCANNED_SUFFIXES = (*IMAGE_SUFFIXES, ".tif", ".tiff")
#: What `tf.io.decode_image` reads (Pillow's format names).
DECODABLE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
#: Folder names of the parts of a shipped split, by part.
PART_FOLDERS = {"train": ("train", "training"), "val": ("val", "valid", "validation"),
                "test": ("test", "testing")}


@dataclass
class FolderScan:
    """What a folder holds: readable images with labels (and parts, when the folder has them)."""

    paths: list[str]
    labels: np.ndarray
    class_names: list[str]
    sizes: Counter
    channels: int
    #: Part ("train", "val", "test") of each path, or None when automl splits.
    parts: Optional[list[str]] = None
    #: Files (and empty class folders) left out, each {"path", "error"}.
    bad: list[dict] = field(default_factory=list)


def shipped_parts(folder: Path) -> Optional[dict[str, Path]]:
    """{part: folder} when `folder` holds train/ (and test/, val/) parts of class folders, else None."""
    dirs = visible_dirs(folder)
    parts: dict[str, Path] = {}
    for path in dirs:
        part = next((p for p, names in PART_FOLDERS.items() if path.name.lower() in names), None)
        if part is None:
            continue
        if part in parts:
            raise DataError(f"{folder}: both {parts[part].name}/ and {path.name}/ look like the {part} part; keep one")
        parts[part] = path
    if "train" not in parts or not visible_dirs(parts["train"]):
        return None  # class folders that happen to be called train/test hold images, not folders
    others = [p.name for p in dirs if p not in parts.values()]
    if others:
        raise DataError(f"{folder}: holds split folders ({', '.join(p.name + '/' for p in parts.values())}) beside "
                        f"other folders ({', '.join(others)}); expected either one folder per class, or train/, "
                        f"val/ and test/ folders that each hold one folder per class")
    for part, path in parts.items():
        if not visible_dirs(path):
            raise DataError(f"{path}: the {part} part holds no class folders; expected one folder per class "
                            f"as in {parts['train']}")
    return parts


def check_image(path: Path) -> tuple[tuple[int, int], str]:
    """(height, width) and Pillow mode of an image TensorFlow can decode; DataError otherwise."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            kind = image.format
            image.verify()
        with Image.open(path) as image:
            image.load()
            size, mode = (image.height, image.width), image.mode
    except Exception as err:  # noqa: BLE001 - Pillow raises many kinds
        raise DataError(f"cannot be read as an image: {type(err).__name__}: {err}") from None
    if kind not in DECODABLE_FORMATS:
        raise DataError(f"holds {kind or 'unknown'} data, which TensorFlow cannot decode (it reads "
                        f"{', '.join(DECODABLE_FORMATS)}); convert it")
    return size, mode


def _image_files(class_dir: Path) -> list[Path]:
    """Image files under a class folder (nested folders too), hidden ones left out."""
    return sorted(p for p in class_dir.rglob("*")
                  if p.is_file() and p.suffix.lower() in SCANNED_SUFFIXES
                  and not any(is_hidden(Path(part)) for part in p.relative_to(class_dir).parts))


def scan_folder(folder: Path, on_bad_file: str) -> FolderScan:
    """Lists and checks the images of a class-folder data set, in either layout."""
    parts = shipped_parts(folder)
    roots = parts or {None: folder}
    train_root = roots.get("train", folder)
    class_dirs = {part: {d.name: d for d in visible_dirs(root)} for part, root in roots.items()}
    training_classes = class_dirs["train" if parts else None]
    if len(training_classes) < 2:
        raise DataError(f"{train_root}: expected one subfolder per class (at least two classes). "
                        f"Found: {sorted(training_classes) or 'no folders'}")
    for part, dirs in class_dirs.items():
        unknown = sorted(set(dirs) - set(training_classes))
        if unknown:
            raise DataError(f"{roots[part]}: class folder(s) {', '.join(unknown)} have no counterpart in "
                            f"{train_root}; a model cannot learn a class it never trains on")
    bad: list[dict] = []
    found: dict[tuple, list[tuple[Path, tuple, str]]] = {}
    for part, dirs in class_dirs.items():
        for name, class_dir in dirs.items():
            good = []
            for path in _image_files(class_dir):
                try:
                    size, mode = check_image(path)
                except DataError as err:
                    bad.append({"path": str(path), "error": str(err)})
                    continue
                good.append((path, size, mode))
            found[(part, name)] = good
    if bad and on_bad_file == "error":
        raise DataError(f"{bad[0]['path']}: {bad[0]['error']}"
                        + (f" (and {len(bad) - 1} more file(s) that cannot be used)" if len(bad) > 1 else "")
                        + "; set data.on_bad_file: skip to leave such files out and list them in the report")
    names = []
    for name, class_dir in training_classes.items():
        if found[("train" if parts else None, name)]:
            names.append(name)
            continue
        if on_bad_file == "error":
            raise DataError(f"{class_dir}: class folder holds no usable images (looked for "
                            f"{', '.join(IMAGE_SUFFIXES)}); remove it, or set data.on_bad_file: skip to leave it out")
        bad.append({"path": str(class_dir), "error": "class folder without usable images: class left out"})
    if len(names) < 2:
        raise DataError(f"{train_root}: expected one subfolder per class (at least two classes). "
                        f"Found: {sorted(training_classes) or 'no folders'}")
    paths, labels, part_of, sizes, modes = [], [], [], Counter(), Counter()
    for part in roots:
        for label, name in enumerate(names):
            for path, size, mode in found.get((part, name), []):
                paths.append(str(path))
                labels.append(label)
                part_of.append(part)
                sizes[size] += 1
                modes[mode] += 1
    grayscale = all(mode in ("L", "1", "I", "I;16", "LA") for mode in modes)
    return FolderScan(paths, np.array(labels, dtype=np.int64), names, sizes, 1 if grayscale else 3,
                      part_of if parts else None, bad)
