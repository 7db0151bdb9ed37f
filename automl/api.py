"""The one-line Python API: `automl.fit(data, task=..., **overrides)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from automl.config.loader import config_from_mapping, deep_merge


class Result:
    """A finished run: the model, its report, and ways to use it.

    Attributes:
        model: the fine-tuned Keras model.
        report: the contents of report.json.
        out_dir: the run directory.
    """

    def __init__(self, artifacts, config):
        self.model = artifacts.model
        self.report = artifacts.report
        self.out_dir = artifacts.out_dir
        self.config = config
        self._task = artifacts.task
        self._data = artifacts.data
        self._hp = artifacts.hp
        # The same preprocessor the bundle carries: raw inputs in, outputs in the data's units.
        self._preprocessor = artifacts.task.preprocessor(artifacts.data, artifacts.hp)

    @property
    def class_names(self) -> Optional[list]:
        return getattr(self._data, "class_names", None)

    def predict(self, inputs) -> np.ndarray:
        """Model outputs for raw inputs, as the run's task reads and returns them.

        The task's preprocessor (`Task.preprocessor`) says what it takes: pixel arrays (0..255), a list of
        strings tokenized as in training, windows of raw values, or whole images of
        any size cut into tiles and stitched back; outputs come in the data's units
        (class probabilities, forecasts in the series' units, per-pixel probabilities).
        """
        return self._preprocessor.run(self._model_outputs, inputs)

    def _model_outputs(self, inputs) -> np.ndarray:
        """The Keras model on model-ready inputs (arrays, or a dict of arrays by input name)."""
        return self.model.predict(inputs, verbose=0)

    def generate(self, count: int, seed: int = 0, labels=None) -> np.ndarray:
        """`count` new uint8 images from a generator (class ids `labels` for a class-conditional one)."""
        return self._task.generate(self.model, self._data, self._hp, count, seed, labels)

    def evaluate(self, inputs=None, targets=None) -> dict:
        """Task metrics on the held-out test split, or on the inputs given."""
        if inputs is None:
            inputs, targets = self._task.eval_arrays(self._data, "test", self._hp)
            return self._task.evaluate(np.asarray(targets), self.model.predict(inputs, verbose=0), self._data)
        model_inputs = self._preprocessor.encode(inputs)
        return self._task.evaluate(np.asarray(targets), self._model_outputs(model_inputs), self._data)

    def export(self, out_dir: str | Path, quantization: str | list[str] = "int8", verify: bool = True) -> list[dict]:
        """Exports (and by default verifies on LiteRT) the model into `out_dir`."""
        from automl.export import export_models
        from automl.verify import verify_exports

        quantizations = [quantization] if isinstance(quantization, str) else list(quantization)
        config = self.config.model_copy(deep=True)
        config.export.quantizations = quantizations
        out = Path(out_dir)
        from automl.families import get_family

        family = get_family(self.report["best"]["family"])
        rows, _ = export_models(self.model, self._task, self._data, config, out, self._hp, family)
        if verify:
            x_test, y_test = self._task.eval_arrays(self._data, "test", self._hp)
            reference = self.model.predict(x_test, verbose=0)
            rejected = verify_exports(rows, self._task, self._data, x_test, y_test, reference,
                                      self._task.evaluate(y_test, reference, self._data),
                                      config.export.int8_accuracy_gate)
            if rejected:
                from automl.export import remove_from_bundle

                remove_from_bundle(out / "export", rejected)
        return rows

    def __repr__(self) -> str:
        metric = self.report.get("test_metrics", {})
        return f"Result(task={self.report.get('task')!r}, test_metrics={ {k: v for k, v in metric.items() if isinstance(v, float)} }, out_dir='{self.out_dir}')"


def fit(data: Any, /, task: str, *, template: Optional[str] = None, **overrides) -> Result:
    """Runs the whole pipeline on `data` and returns a `Result`.

    Args:
        data: a path (image folder, .npz, IDX folder, CSV), an `(inputs, targets)` tuple,
            or for time series a DataFrame or dict of columns.
        task: the task type, one of `automl.tasks.task_names()`.
        template: a template in templates/ to start from; defaults to the task's.
        **overrides: config sections as in YAML, e.g. `search={"max_trials": 3}`,
            `output="runs/x"`, `seed=1`, `data={"horizon": 24}` (merged with the data given).

    Returns:
        A `Result` with `.model`, `.predict()`, `.evaluate()`, `.export()`, `.report`.
    """
    from automl.pipeline import run_pipeline

    from automl.tasks import get_task_class, require_task

    require_task(task, "automl.fit: task")
    raw: dict = {"extends": template or task, "task": task}
    in_memory = get_task_class(task).python_data(data)
    arrays, raw["data"] = in_memory if in_memory is not None else (None, {"path": str(data)})
    raw = deep_merge(raw, overrides)
    config = config_from_mapping(raw, source="automl.fit")
    return Result(run_pipeline(config, arrays=arrays), config)
