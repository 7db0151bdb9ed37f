"""What `automl.fit` returns for a generator: the usual `Result`, and new images on request."""

from __future__ import annotations

import numpy as np

from automl.api import PythonApi, Result


class GeneratorResult(Result):
    """A finished image generation run; `model` is the generator."""

    def generate(self, count: int, seed: int = 0, labels=None) -> np.ndarray:
        """`count` new uint8 images (class ids `labels` for a class-conditional generator)."""
        return self._task.generate(self.model, self._data, self._hp, count, seed, labels)


class GeneratorApi(PythonApi):
    """`automl.fit` for image generation: `(images, labels)` or images alone in, a `GeneratorResult` out."""

    def in_memory(self, data):
        if isinstance(data, np.ndarray):
            return data, {"path": "."}
        return super().in_memory(data)

    def result(self, artifacts, config) -> GeneratorResult:
        return GeneratorResult(artifacts, config)
