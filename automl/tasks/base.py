"""What every task provides to the pipeline's stages.

A task owns what depends on the problem: data loading and profiling, the
output head, loss, metrics, search objective and what "verify" compares.
Families supply only backbones, so one family can serve several tasks.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class Task:
    """Base class; subclasses are registered by name in `automl.tasks`."""

    name: str = ""
    #: Keras metric the search optimizes, and its direction.
    objective: str = "val_loss"
    objective_direction: str = "min"
    #: Names under which `metrics()` report in Keras logs (a test checks they agree).
    metric_names: tuple[str, ...] = ()
    #: The test metric users read first (a key of `evaluate`'s result).
    headline_metric: str = "loss"
    headline_higher_is_better: bool = True
    #: What verify does with an int8 model over the accuracy gate: "fail" the run,
    #: or "drop" the file from the bundle.
    int8_over_gate: str = "fail"
    #: TFLite op types an int8 model of this task keeps in float (beside the family's).
    int8_float_ops: tuple[str, ...] = ()

    @classmethod
    def search_objectives(cls) -> list[str]:
        """What `search.objective` may name: the loss and each metric, on validation or training data."""
        names = ("loss", *cls.metric_names)
        return [f"val_{n}" for n in names] + list(names)

    @classmethod
    def rank_family(cls, name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
        """The selector's rule for one family: (score, reasons, exclusion reason or None)."""
        return 1.0, [], None

    def load_data(self, config, arrays=None):
        raise NotImplementedError

    def profile(self, data) -> dict:
        raise NotImplementedError

    def prepare(self, data, family, pretrained=None):
        """The data as one family sees it (text: encoded by its tokenizer); images as they are."""
        return data

    def part_size(self, data, part: str) -> int:
        """Examples in a part of the split (forecasting: windows)."""
        return len(data.part(part))

    def sample(self, data, part: str, count: int, seed: int) -> np.ndarray:
        """Indices of a seeded, stratified sample of a part, for search trials."""
        from automl.data.split import stratified_sample

        return stratified_sample(data.part(part).labels, count, seed)

    def model_inputs(self, hp, data):
        """The Keras input tensor(s) of the model."""
        raise NotImplementedError

    def model_outputs(self, hp, inputs, backbone, data):
        """The model's outputs: `backbone(inputs)` under the task's head.

        A task that transforms inputs before the backbone (forecasting centres
        each window) overrides this; `backbone` maps a tensor to features.
        """
        return self.build_head(hp, backbone(inputs), data)

    def build_head(self, hp, features, data):
        """Maps backbone features to the task's outputs (float32, even under mixed precision)."""
        raise NotImplementedError

    def register_search_space(self, hp) -> None:
        """Declares the task's own training choices (augmentation and the like)."""

    def loss(self, hp) -> Any:
        raise NotImplementedError

    def metrics(self) -> list:
        raise NotImplementedError

    def train_dataset(self, hp, data, part: str, batch_size: int, indices=None, shuffle=True):
        raise NotImplementedError

    def representative_inputs(self, data, count: int, seed: int, hp=None):
        """Training inputs for int8 calibration."""
        raise NotImplementedError

    def eval_arrays(self, data, part: str, hp=None):
        """(inputs, targets) as numpy arrays, for evaluation and verification."""
        raise NotImplementedError

    def evaluate(self, targets: np.ndarray, outputs: np.ndarray) -> dict:
        """Test metrics from model outputs; the same code scores Keras and LiteRT."""
        raise NotImplementedError

    def agreement(self, reference: np.ndarray, outputs: np.ndarray) -> float:
        """Share of predictions (examples, or pixels) whose most probable class is the Keras model's."""
        return float(np.mean(reference.argmax(-1) == outputs.argmax(-1)))

    def baselines(self, data, hp) -> Optional[dict]:
        """Rules that need no model, scored like it: {"test": {name: metrics},
        "validation": {name: objective value}}; None when the task has none."""
        return None

    def baseline_warnings(self, test_metrics: dict, baselines: dict) -> list[str]:
        """One warning when a rule without parameters beats the model on the headline metric."""
        key, sign = self.headline_metric, 1 if self.headline_higher_is_better else -1
        better = sorted((sign * -m[key], name) for name, m in baselines.items() if sign * (m[key] - test_metrics[key]) > 0)
        if not better:
            return []
        named = ", ".join(f"{name} ({baselines[name][key]:.4f})" for _, name in better)
        return [f"the model's test {key} {test_metrics[key]:.4f} is worse than {named}: give the search more "
                f"trials or time, or use that rule"]

    def compare(self, reference: np.ndarray, outputs: np.ndarray) -> dict:
        """How close a converted model's outputs are to the Keras model's (report keys)."""
        return {"agreement": self.agreement(reference, outputs)}

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        """(title, base64 PNG) pairs the HTML report shows for this task."""
        return []

    def metadata(self, data, hp=None) -> dict:
        """Task facts for `metadata.json` beside the exported models."""
        return {}

    def raw_inputs(self, data, hp, inputs):
        """The model's inputs for what a user passes to `Result.predict` (arrays: as they are)."""
        return inputs

    def raw_outputs(self, data, outputs):
        """Model outputs as `Result.predict` returns them (forecasts: in the data's units)."""
        return outputs

    def bundle_files(self, data, hp, export_dir) -> None:
        """Writes task files the phone needs beside the model (a tokenizer, say)."""
