"""The preprocessor: a user's raw inputs -> model inputs, model outputs -> what users read.

Each task has one (`Task.preprocessor`). It is numpy-only (no TensorFlow),
saved in the export bundle as `preprocessor.json` (plus any files it needs,
such as a tokenizer) and loaded from it, so `Result.predict`, the verify
stage and `automl predict` run the same code on the same settings.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from automl.errors import DataError

FILE = "preprocessor.json"


class Preprocessor:
    """The identity on float32 arrays; tasks subclass it."""

    def encode(self, inputs):
        """Model inputs for a batch of raw inputs; raises `DataError` naming what cannot be used."""
        return np.asarray(inputs, dtype=np.float32)

    def decode(self, outputs):
        """Model outputs as users read them (forecasts in the data's units, say)."""
        return outputs

    def run(self, model_fn: Callable, inputs):
        """`model_fn` (Keras or LiteRT) on raw inputs, end to end."""
        return self.decode(model_fn(self.encode(inputs)))

    # -- saved in the bundle -----------------------------------------------------------------

    def get_config(self) -> dict:
        """JSON-serializable settings; `from_config` rebuilds the preprocessor from them."""
        return {}

    @classmethod
    def from_config(cls, config: dict, folder: Path) -> "Preprocessor":
        return cls(**config)

    def save_files(self, folder: Path) -> None:
        """Writes files the settings point to (a tokenizer's vocabulary)."""

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        self.save_files(folder)
        record = {"class": f"{type(self).__module__}:{type(self).__qualname__}", "config": self.get_config()}
        (folder / FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")


def load_preprocessor(folder: str | Path) -> Preprocessor:
    """The preprocessor an export bundle was saved with."""
    path = Path(folder) / FILE
    if not path.exists():
        raise DataError(f"{path} not found: bundles exported before preprocessors were saved need exporting again")
    record = json.loads(path.read_text(encoding="utf-8"))
    module, name = record["class"].split(":")
    if not module.startswith("automl."):
        raise DataError(f"{path}: class {record['class']!r} is not one of automl's preprocessors")
    cls = getattr(importlib.import_module(module), name, None)
    # Only a preprocessor's own `from_config` runs: the file may have been written by anyone.
    if not (isinstance(cls, type) and issubclass(cls, Preprocessor)):
        raise DataError(f"{path}: class {record['class']!r} is not one of automl's preprocessors")
    return cls.from_config(record["config"], Path(folder))


def stack_batches(batches: list):
    """One batch from several `encode` results (arrays, or dicts of arrays by input name)."""
    if isinstance(batches[0], dict):
        return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    return np.concatenate(batches)
