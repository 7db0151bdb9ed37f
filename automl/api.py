"""The one-line Python API: `automl.fit(data, task=..., **overrides)`."""

from __future__ import annotations

import contextlib
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
        self._trained, self._inference = artifacts.trained or artifacts.model, artifacts.inference
        # The same preprocessor the bundle carries: raw inputs in, outputs in the data's units.
        self._preprocessor = artifacts.task.preprocessor(artifacts.data, artifacts.hp)
        #: What the methods print, as `fit(verbose=)` said (TensorFlow's retracing warnings, say).
        self.verbose = 1

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
        with output_kept_to(self.verbose):
            return self._preprocessor.run(self._model_outputs, inputs)

    def _model_outputs(self, inputs) -> np.ndarray:
        """The Keras model on model-ready inputs (arrays, or a dict of arrays by input name)."""
        return self.model.predict(inputs, verbose=0)

    def evaluate(self, inputs=None, targets=None) -> dict:
        """Task metrics on the held-out test split, or on the inputs given (targets as an array, or a
        dict of arrays by output name for a model with several outputs)."""
        from automl.assess import score_on_test

        with output_kept_to(self.verbose):
            if inputs is None:
                return score_on_test(self.model, self._task, self._data, self._hp).metrics
            targets = targets if isinstance(targets, dict) else np.asarray(targets)
            return self._task.evaluate(targets, self._model_outputs(self._preprocessor.encode(inputs)), self._data)

    def export(self, out_dir: str | Path, quantization: Optional[str | list[str]] = None,
               verify: bool = True) -> list[dict]:
        """Exports the model into `out_dir`/export (with `export.zip` beside it) as the run's own
        bundle is made: the same files, each verified on LiteRT unless `verify` is false, and the
        model card. `quantization` (one name or a list) replaces the run's quantizations. An
        `export` folder there is replaced only when it holds an automl bundle and nothing else."""
        from automl.assess import make_bundle, score_on_test
        from automl.families import get_family
        from automl.model_card import zip_bundle
        from automl.publish import Publication, only_a_bundle

        config = self.config.model_copy(deep=True)
        if quantization is not None:
            config.export.quantizations = [quantization] if isinstance(quantization, str) else list(quantization)
        config.export.verify = verify
        with output_kept_to(self.verbose), \
                Publication(Path(out_dir) / "export", only_a_bundle, "Result.export: out_dir") as publication:
            score = score_on_test(self.model, self._task, self._data, self._hp)
            bundle = make_bundle(self.model, self._task, self._data, config, score, publication.folder,
                                 run_dir=publication.folder, hp=self._hp,
                                 family=get_family(self.report["best"]["family"]), card=self.report,
                                 trained=self._trained, inference=self._inference)
            zip_bundle(publication.folder, publication.staged_zip, "export")
            publication.publish()
        for row in bundle.rows:
            row["path"] = str(publication.final_path(row["path"]))
        return bundle.rows

    def leaderboard(self, baselines: bool = True):
        """The search's trials ranked best first (and the baseline rules scored on validation): a
        pandas DataFrame when pandas is installed, else a list of dicts with the same columns."""
        from automl.leaderboard import as_frame, leaderboard_rows

        return as_frame(leaderboard_rows(self.report, baselines=baselines))

    def __repr__(self) -> str:
        metric = self.report.get("test_metrics", {})
        return f"Result(task={self.report.get('task')!r}, test_metrics={ {k: v for k, v in metric.items() if isinstance(v, float)} }, out_dir='{self.out_dir}')"


class PythonApi:
    """What `automl.fit` takes in memory and returns for one task (`Task.python_api`).

    Args:
        task: the `Task` being fitted.
    """

    def __init__(self, task):
        self.task = task

    def in_memory(self, data) -> Optional[tuple[Any, dict]]:
        """(in-memory data for `load_data`, the config's data section), or None when `data` is a
        path. Default: an `(inputs, targets)` pair of arrays."""
        if isinstance(data, (tuple, list)) and len(data) == 2:
            return (np.asarray(data[0]), np.asarray(data[1])), {"path": "."}
        return None

    def result(self, artifacts, config) -> Result:
        """What `automl.fit` returns for a finished run (a task with more to offer returns a subclass
        of `Result`: a generator's can `generate`)."""
        return Result(artifacts, config)


def fit(data: Any, /, task: str, *, template: Optional[str] = None, verbose: int = 1, **overrides) -> Result:
    """Runs the whole pipeline on `data` and returns a `Result`.

    Args:
        data: a path (image folder, .npz, IDX folder, CSV), an `(inputs, targets)` tuple,
            or for time series a DataFrame or dict of columns.
        task: the task type, one of `automl.tasks.task_names()`.
        template: a template in templates/ to start from; defaults to the task's.
        verbose: 0 prints nothing (the report has it all), 1 (default) automl's progress lines as the CLI
            shows them, 2 also TensorFlow's and the other libraries' own log lines.
        **overrides: config sections as in YAML, e.g. `search={"max_trials": 3}`,
            `output="runs/x"`, `seed=1`, `data={"horizon": 24}` (merged with the data given).
            Without `output`, each `fit` gets a new run directory (runs/NAME, runs/NAME-2, ...);
            with it, a run directory holding the same search resumes it.

    Returns:
        A `Result` with `.model`, `.predict()`, `.evaluate()`, `.export()`, `.report` (a task may
        return a subclass with its own methods: a generator's `Result` also has `.generate()`).
    """
    from automl.pipeline import run_pipeline

    from automl.tasks import get_task, require_task

    require_task(task, "automl.fit: task")
    raw: dict = {"extends": template or task, "task": task}
    python_api = get_task(task).python_api
    in_memory = python_api.in_memory(data)
    arrays, raw["data"] = in_memory if in_memory is not None else (None, {"path": str(data)})
    raw = deep_merge(raw, overrides)
    config = config_from_mapping(raw, source="automl.fit")
    if "output" not in overrides:
        config.output = str(new_run_dir(Path(config.output_dir())))
    with output_kept_to(verbose):
        command = f"automl.fit({'arrays' if arrays is not None else repr(str(data))}, task={task!r}" + "".join(
            f", {key}={value!r}" for key, value in overrides.items()) + ")"
        result = python_api.result(run_pipeline(config, arrays=arrays, command=command), config)
    result.verbose = verbose
    return result


def load(run_dir: str | Path, verbose: int = 1) -> Result:
    """A finished run reopened from its directory: the same `Result` `fit` returned (the model as
    fine-tuned, `predict`, `evaluate`, `export`, `leaderboard`). The run's data must be where it
    was (its test split is read again); a run on Python arrays cannot be reopened. `verbose` as
    for `fit`."""
    from automl.finished_run import load_finished_run
    from automl.pipeline import RunArtifacts

    with output_kept_to(verbose):
        run = load_finished_run(run_dir)
        model, inference = run.task.inference.choose(run.trained, run.data, run.hp, run.config,
                                                     run.report.get("backtests"))
    artifacts = RunArtifacts(model=model, task=run.task, data=run.data, report=run.report, out_dir=run.run_dir,
                             hp=run.hp, trained=run.trained, inference=inference)
    result = run.task.python_api.result(artifacts, run.config)
    result.verbose = verbose
    return result


def new_run_dir(wanted: Path) -> Path:
    """`wanted` when it is free (missing or empty), else the first free `wanted-2`, `wanted-3`, ...:
    a second `fit` never resumes or replaces the first one's run."""
    candidate, index = wanted, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        index += 1
        candidate = wanted.with_name(f"{wanted.name}-{index}")
    return candidate


@contextlib.contextmanager
def output_kept_to(verbose: int):
    """What a run prints, as `fit(verbose=)` says: native libraries' log lines filtered out of
    stderr below 2, automl's own progress lines silenced at 0."""
    from automl.progress import quiet_progress
    from automl.quiet import filtered_stderr, python_logging_quieted

    if verbose >= 2:
        yield
        return
    with python_logging_quieted(), filtered_stderr(), quiet_progress(verbose == 0):
        yield
