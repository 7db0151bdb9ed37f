"""Room on the disk before writing, so that a full disk ends a run with one line.

h5py (Keras weight files) can crash the whole process when a write hits a full disk, leaving no
last line and a report that still says "running". So each stage, each search trial and each
checkpoint first checks that what it is about to write fits, with a margin for the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from automl.errors import DiskFull

#: Kept free beyond what a write needs: the report, its HTML and the last lines of logs.
MARGIN = 16 * 2**20


def _megabytes(count: int) -> str:
    return f"{count / 2**20:.0f} MB"


def ensure_room(folder: Path, needed: int, what: str) -> None:
    """Raises `DiskFull`, naming the folder and the space needed, when `needed` bytes (plus
    `MARGIN`) do not fit on `folder`'s disk."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < needed + MARGIN:
        raise DiskFull(f"{folder}: {_megabytes(free)} free on its disk; {what} needs about "
                       f"{_megabytes(needed + MARGIN)}: free some space, or give the run another folder (--out)")


def weight_bytes(model) -> int:
    """Bytes of a model's weights as a checkpoint holds them."""
    return int(sum(int(w.size) * w.dtype.itemsize for w in model.get_weights()))
