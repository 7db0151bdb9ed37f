"""What `automl.fit` returns for a generator: the usual `Result`, and new images on request."""

from __future__ import annotations

import numpy as np

from automl.api import Result


class GeneratorResult(Result):
    """A finished image generation run; `model` is the generator."""

    def generate(self, count: int, seed: int = 0, labels=None) -> np.ndarray:
        """`count` new uint8 images (class ids `labels` for a class-conditional generator)."""
        return self._task.generate(self.model, self._data, self._hp, count, seed, labels)
