"""File helpers more than one task uses: which files and folders to ignore,
image suffixes, .npz archives, and the natural order of label names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.errors import DataError

#: Suffixes read as images (what TensorFlow's decoder takes).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
#: Folders that tools leave behind and that never hold data.
IGNORED_NAMES = ("__MACOSX", "__pycache__")


def is_hidden(path: Path) -> bool:
    """Hidden files and folders (`.ipynb_checkpoints/`, `.DS_Store`, `._x.png`) and tool leftovers."""
    return path.name.startswith(".") or path.name in IGNORED_NAMES


def visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p))


def read_npz(path: Path):
    """An .npz archive (no pickles); a file numpy cannot read is a DataError naming it."""
    try:
        return np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - numpy raises several kinds
        raise DataError(f"{path}: cannot read .npz: {err}") from None


def natural_key(text: str):
    """Sorts "2" before "10", and numbers before words."""
    return (0, int(text), "") if text.lstrip("-").isdigit() else (1, 0, text)
