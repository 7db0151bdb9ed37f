"""What every task provides to the pipeline's stages.

A task owns what depends on the problem: data loading and profiling, the
output head, loss, metrics, search objective and what "verify" compares.
Families supply only backbones, so one family can serve several tasks.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from automl.tasks.goal import Goal


class handed_over:  # noqa: N801 - used like `property`
    """A Task attribute that hands over an object built for the task (its trainer, scorer, bundle
    reader, report view): `scorer = handed_over("module:Class")` makes `task.scorer` be
    `Class(task)`. The class is imported on first use, so `automl predict` (no TensorFlow) and
    `automl --help` import only what they ask for."""

    def __init__(self, reference: str):
        self.reference = reference

    def __get__(self, task, owner=None):
        if task is None:
            return self
        import importlib

        module, name = self.reference.split(":")
        return getattr(importlib.import_module(module), name)(task)


class Task:
    """Base class; subclasses are registered by name in `automl.tasks`."""

    name: str = ""
    #: The objective the search optimizes, the metrics Keras logs, the headline test metric.
    goal: Goal = Goal()

    @classmethod
    def rank_family(cls, name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
        """The selector's rule for one family: (score, reasons, exclusion reason or None)."""
        return 1.0, [], None

    #: What `automl.fit` takes in memory and returns (`automl.api.PythonApi`: `in_memory`, `result`): arrays in, a `Result` out by default; a forecaster takes a DataFrame, a generator's result can `generate`.
    python_api = handed_over("automl.api:PythonApi")

    def load_data(self, config, arrays=None):
        raise NotImplementedError

    def profile(self, data) -> dict:
        raise NotImplementedError

    #: How the stages count and sample its examples and how each family sees them (`automl.data.examples.Examples`: `count`, `sample`, `for_family`): labelled examples by default; forecasting's are windows, text is encoded by each family's tokenizer.
    examples = handed_over("automl.data.examples:Examples")

    def model_inputs(self, hp, data):
        """The Keras input tensor(s) of the model."""
        raise NotImplementedError

    def model_outputs(self, hp, inputs, backbone, data):
        """The model's outputs: the task's head (float32, even under mixed precision) on
        `backbone(inputs)`; `backbone` maps a tensor to features. A task that transforms inputs
        first (forecasting centres each window, segmentation scales intensities) does so here."""
        raise NotImplementedError

    def register_search_space(self, hp) -> None:
        """Declares the task's own training choices (augmentation and the like)."""

    #: How this task's models are built, compiled, trained and checkpointed (`automl.trainer`): supervised training on `train_dataset` by default; a task that trains otherwise (a GAN's two networks and its own train_step) returns its own `Trainer` subclass.
    trainer = handed_over("automl.trainer:Trainer")

    #: What of the trained model is evaluated, exported and verified (`automl.inference.Inference`: `choose`, `tf_keras`, `int8_float_ops`): the model as trained by default; a GAN's generator, a classifier's mirror average.
    inference = handed_over("automl.inference:Inference")

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

    def evaluate(self, targets: np.ndarray, outputs: np.ndarray, data) -> dict:
        """Test metrics from model outputs; the same code scores Keras and LiteRT. `data` is what
        `load_data` returned (forecasting scales with it): a task keeps no state of its own, so a
        fresh task object scores the same way."""
        raise NotImplementedError

    #: How a converted model is judged against the Keras model (`automl.scorer.Scorer`: closeness, the headline metric's drop and its noise, baselines that beat the model).
    scorer = handed_over("automl.scorer:Scorer")

    def baselines(self, data, hp) -> Optional[dict]:
        """Rules or simple models scored like the model: {"test": {name: metrics},
        "validation": {name: objective value}, optionally "notes": {name: what it is}};
        None when the task has none."""
        return None

    def metadata(self, data, hp=None) -> dict:
        """Task facts for `metadata.json` beside the exported models."""
        return {}

    def preprocessor(self, data, hp):
        """The numpy code between users' raw inputs and the model, saved in the bundle
        (`automl/preprocessing.py`); `Result.predict`, verify and `automl predict` all use it."""
        from automl.preprocessing import Preprocessor

        return Preprocessor()

    #: What the terminal and the report show of this task (`automl.report_view.ReportView`: the data line, the epoch metrics, the inference line, report sections, figures, examples).
    report_view = handed_over("automl.report_view:ReportView")

    #: The bundle as apps and `automl predict` read it (`automl.bundle_reader.BundleReader`: its own options, rows, a row as a line, and the bundle checked on the raw test inputs).
    bundle_reader = handed_over("automl.bundle_reader:BundleReader")
