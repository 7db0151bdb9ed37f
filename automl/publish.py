"""Folders of results that appear whole, in places the user names.

`automl export RUN --out DIR` and `Result.export(DIR)` write where the user says. Nothing there is
deleted unless automl wrote it: the bundle is made in a new hidden folder beside DIR and put in
place by renames once complete, and a DIR that holds anything but an earlier bundle (of the same
run, where that can be told) is refused, as is a `DIR.zip` that is not that bundle's. A kill
leaves the earlier bundle or the new one, and at worst a hidden `.DIR.partial-*` folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

from automl.errors import ConfigError

#: What a bundle folder holds besides the files its metadata.json lists.
BUNDLE_FILES = {"metadata.json", "labels.txt", "README.md", "preprocessor.json", "report.json",
                "saved_model", "model.keras"}


def run_of_bundle(bundle: Path) -> Path:
    """The run directory a bundle came from: its report.json's `run_dir` (an `automl export`), else
    the folder it sits in (a run's own export/)."""
    report = bundle / "report.json"
    if report.exists():
        return Path(json.loads(report.read_text(encoding="utf-8")).get("run_dir", bundle.parent)).absolute()
    return bundle.parent.absolute()


def only_a_bundle(folder: Path, run_dir: Optional[Path] = None) -> bool:
    """Whether `folder` holds an automl bundle and nothing else (with `run_dir`: one that
    `automl export` made from that run, as its report.json says)."""
    meta_path = folder / "metadata.json"
    if not meta_path.is_file() or (run_dir is not None and not (folder / "report.json").is_file()):
        return False
    try:
        listed = {entry["path"] for entry in json.loads(meta_path.read_text(encoding="utf-8")).get("files", [])}
        if run_dir is not None and run_of_bundle(folder) != Path(run_dir).absolute():
            return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(child.name in BUNDLE_FILES or child.name in listed for child in folder.iterdir())


class Publication:
    """A bundle folder (and its zip) made beside `target` and renamed into place when complete.

    Args:
        target: where the folder goes; `target.zip` goes beside it.
        is_ours: whether an existing, non-empty `target` is an earlier result that may be replaced.
        key: what named the target, for the error (e.g. "--out").
    """

    def __init__(self, target: Path, is_ours: Callable[[Path], bool], key: str):
        self.target = Path(target).absolute()
        self.zip = self.target.with_name(self.target.name + ".zip")
        earlier = self.target.exists() and (not self.target.is_dir() or any(self.target.iterdir()))
        if earlier and not (self.target.is_dir() and is_ours(self.target)):
            raise ConfigError(f"{key}: {self.target} is not empty and is not an earlier automl bundle to replace; "
                              f"nothing was written. Received: {key}={target}; expected a new or empty folder")
        if self.zip.exists() and not earlier:
            raise ConfigError(f"{key}: {self.zip} exists and does not belong to a bundle in {self.target}; "
                              f"nothing was written. Received: {key}={target}; choose another folder")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.partial-", dir=self.target.parent))
        self.staged_zip = self.folder.with_name(self.folder.name + ".zip")
        self.published = False

    def __enter__(self) -> "Publication":
        return self

    def __exit__(self, *exc) -> None:
        if not self.published:  # both are ours: made by mkdtemp above
            shutil.rmtree(self.folder, ignore_errors=True)
            self.staged_zip.unlink(missing_ok=True)

    def final_path(self, path: str | Path) -> Path:
        """Where a file written into the staging folder will be once published."""
        return self.target / Path(path).relative_to(self.folder)

    def publish(self) -> Path:
        """Puts the folder (and the zip, when one was staged) in place; an earlier bundle there is
        moved aside first and removed last."""
        old = None
        if self.target.exists():
            if any(self.target.iterdir()):
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                self.target.replace(old)
            else:
                self.target.rmdir()
        self.folder.replace(self.target)
        if self.staged_zip.exists():
            self.staged_zip.replace(self.zip)
        self.published = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target
