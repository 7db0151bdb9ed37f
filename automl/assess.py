"""Runs and scores a model: the Keras model on the test split, then the bundle it is exported to,
every file run on LiteRT and compared with it, and the bundle's model card.

One path for every door: the pipeline (`automl run`), `automl export RUN` and `Result.export` all
make and check their bundle here, so the bundle is the same whichever made it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from automl.progress import say
from automl.report.html import closeness_text
from automl.verify import count_examples


@dataclass
class TestScore:
    """The Keras model on the test split: inputs, targets, its outputs (every output, as the model
    returns them) and the task's metrics of them."""

    inputs: object
    targets: object
    outputs: object
    metrics: dict

    @property
    def examples(self) -> int:
        return count_examples(self.targets)


def score_on_test(model, task, data, hp) -> TestScore:
    """The Keras model on the test split, scored by the task; fails on NaN or infinite outputs."""
    import keras

    inputs, targets = task.eval_arrays(data, "test", hp)
    outputs = model.predict(inputs, batch_size=256, verbose=0)
    if not all(np.all(np.isfinite(array)) for array in keras.tree.flatten(outputs)):
        raise RuntimeError("the model outputs NaN or infinite values on the test split; "
                           "lower the learning rate or pin another family")
    return TestScore(inputs, targets, outputs, task.evaluate(targets, outputs, data))


@dataclass
class Bundle:
    """An exported, verified bundle: its folder, one row per file, the rows left out of it (and
    why, in each row's `rejected`), and the bundle alone run as `automl predict` runs it."""

    folder: Path
    rows: list[dict]
    rejected: list[dict] = field(default_factory=list)
    predict_check: Optional[dict] = None

    def warnings(self) -> list[str]:
        return [f"{Path(row['path']).name} left out of the bundle: {row['rejected']}" for row in self.rejected]


def _no_stage(name: str):
    return contextlib.nullcontext()


def make_bundle(model, task, data, config, score: TestScore, folder: Path, *, run_dir: Path, hp, family,
                card: dict, trained=None, inference: Optional[dict] = None,
                stage: Callable[[str], contextlib.AbstractContextManager] = _no_stage) -> Bundle:
    """Exports `model` into `folder` as `config.export` says, runs every .tflite on LiteRT over the
    test split against `score` (the same gate for every door), leaves out what fails it, runs the
    bundle alone on the raw test inputs, and writes the model card.

    Args:
        card: what the model card says of the run (its report: name, task, dataset, best).
        trained: the model as trained, which `export.compression` fine-tunes further.
        inference: what `task.inference.choose` chose, for the card and the compressed files.
        stage: a context manager per stage ("export", "verify"), the pipeline's timings.
    """
    from automl.export import export_models, remove_from_bundle
    from automl.model_card import write_model_card

    with stage("export"):
        rows, folder = export_models(model, task, data, config, run_dir, hp, family, export_dir=folder,
                                     trained=trained, inference=inference)
    bundle = Bundle(folder, rows)
    if config.export.verify:
        from automl.verify import verify_exports

        with stage("verify"):
            bundle.rejected = verify_exports(rows, task, data, score.inputs, score.targets, score.outputs,
                                             score.metrics, config.export.int8_accuracy_gate)
            if bundle.rejected:
                remove_from_bundle(folder, bundle.rejected)
                for warning in bundle.warnings():
                    say("verify", f"warning: {warning}")
            if "tflite" in config.export.formats:
                bundle.predict_check = task.bundle_reader.check(folder, data, score.outputs)
                if bundle.predict_check:
                    check = bundle.predict_check
                    say("verify", f"automl predict on the raw test inputs (bundle and LiteRT only): "
                                  f"{check.get('model')} on {check.get('examples')} examples, "
                                  f"{closeness_text(check.get('vs_keras'))} against Keras")
                in_mediapipe = task.bundle_reader.check_in_mediapipe(rows, data, score.outputs)
                if in_mediapipe:
                    say("verify", in_mediapipe)
    write_model_card(folder, {**card, "name": config.name, "task": config.task,
                              "mediapipe_task": task.bundle_reader.mediapipe_task,
                              "headline_metric": task.goal.headline, "test_metrics": score.metrics,
                              "inference": inference,
                              "inference_text": task.report_view.describe_inference(inference) if inference else None},
                     rows, os.path.normpath(config.data.path))
    return bundle
