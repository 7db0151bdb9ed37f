"""A search trial as a Ray task: what runs on a cluster node for `search.engine: ray`.

The driver (`ray_search.py`) hands each trial to `run_trial` with the search's `RayJob` and data
(both from Ray's object store). A worker process prepares the search once (the task, its runtime,
the families' HyperModel and a `SearchTuner`) and keeps it for the next trial of the same search.
The tuner runs the trial as it would in one process (its share of the time, a promotion from its
parent's checkpoint, every epoch kept in the trial's folder so a rerun after a lost node continues)
but its oracle is a `TrialDesk`: the trial in hand, whose metrics and end go back to the driver,
which decides everything. Each epoch is also sent to the driver as it ends (`ReportToDriver`).

Nothing here imports Ray at module level: the driver wraps `run_trial` in `ray.remote`.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import keras
import keras_tuner

from automl.tuner import SearchTuner


@dataclass
class RayJob:
    """What every trial of one search needs besides its trial and the data."""

    #: The search (run directory and settings): a worker process keeps one prepared search.
    key: str
    config: object
    selection: object
    deadline: Optional[float]
    epochs: int
    objective: object
    #: The driver's `<run>/search`.
    search_folder: str
    #: `trial_storage.TrialStorage` when the nodes do not share the run directory, else None.
    storage: object = None
    tensorboard: bool = True


@dataclass
class TrialOutcome:
    """What a trial task returns: the trial (status, message, values as trained), its metric updates
    in order, its seconds, parameters and epochs (`SearchTuner.keep_stats`), and where it ran."""

    trial: object
    updates: list
    stats: dict
    node: str


_PREPARED: dict = {}


def run_trial(job: RayJob, data, trial, parent, reports) -> TrialOutcome:
    """Runs `trial` (continuing `parent`'s checkpoint when it is a promotion) and returns its outcome."""
    prepared = _PREPARED.get(job.key)
    if prepared is None:
        _PREPARED.clear()  # a worker process serves one search at a time: the last one's models go
        prepared = _PREPARED[job.key] = PreparedSearch(job, data)
    return prepared.run(trial, parent, reports)


def node_name() -> str:
    """This node as the report names it: its address and the start of its Ray node id."""
    import ray

    return f"{ray.util.get_node_ip_address()} {ray.get_runtime_context().get_node_id()[:8]}"


class PreparedSearch:
    """The task, runtime, HyperModel and tuner of one search in one worker process."""

    def __init__(self, job: RayJob, data):
        from automl.runtime import choose_runtime
        from automl.search import search_hypermodel
        from automl.tasks import get_task

        _threads_from_assigned_cpus()
        self.job, self.node = job, node_name()
        task = get_task(job.config.task)
        self.runtime = choose_runtime(job.config)
        hypermodel, _ = search_hypermodel(job.config, task, data, job.selection, job.deadline)
        self.desk = TrialDesk(job.objective)
        # The tuner's files (its state, stats) are this process's own: workers share trial folders only.
        os.environ["KERASTUNER_TUNER_ID"] = f"ray-{self.node.split()[-1]}-{os.getpid()}"
        self.folder = Path(job.search_folder) if job.storage is None else _staging_folder(job.key)
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner's "Reloading ..." lines
            self.tuner = TrialTuner(oracle=self.desk, hypermodel=hypermodel, directory=str(self.folder),
                                    project_name="trials", overwrite=False,
                                    distribution_strategy=self.runtime.strategy if self.runtime.distributed else None)
        if job.tensorboard:
            self.tuner.tensorboard_root = self.folder.parent / "tensorboard" / "search"

    def run(self, trial, parent, reports) -> TrialOutcome:
        storage, trials = self.job.storage, Path(self.tuner.project_dir)
        if storage is not None:  # the trial's kept epochs (a rerun after a lost node), and its parent's checkpoint
            for held in (trial, parent):
                if held is not None:
                    storage.pull(f"trials/trial_{held.trial_id}", trials / f"trial_{held.trial_id}")
        self.desk.hold(trial, parent)
        self.tuner.reports, self.tuner.node = reports, self.node
        # Each kept epoch goes to the cluster's storage too: a rerun on another node continues from it.
        self.tuner.hypermodel.epoch_kept = None if storage is None else (
            lambda: storage.push(trials / f"trial_{trial.trial_id}", f"trials/trial_{trial.trial_id}"))
        self.tuner.on_trial_begin(trial)
        self.tuner._try_run_and_update_trial(trial, epochs=self.job.epochs, verbose=0)
        self.tuner.on_trial_end(trial)
        if storage is not None:
            storage.push(trials / f"trial_{trial.trial_id}", f"trials/trial_{trial.trial_id}")
            if self.tuner.tensorboard_root is not None and self.tuner.tensorboard_root.exists():
                storage.push(self.tuner.tensorboard_root, "tensorboard/search")
        return TrialOutcome(trial, self.desk.updates, self.tuner.last_stats, self.node)


def _staging_folder(key: str) -> Path:
    """Where a node keeps the trials it trains when the cluster shares storage, not the run directory."""
    return Path(tempfile.gettempdir()) / "automl-ray" / key / "search"


def _threads_from_assigned_cpus() -> None:
    """TensorFlow's threads to the CPUs Ray gave the trial: several trials on one node then share its
    cores instead of each spreading over all of them."""
    import ray
    import tensorflow as tf

    cpus = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 0))
    if cpus >= 1:
        with contextlib.suppress(RuntimeError):  # TensorFlow already ran here (an earlier search)
            tf.config.threading.set_intra_op_parallelism_threads(cpus)
            tf.config.threading.set_inter_op_parallelism_threads(min(cpus, 2))


class TrialDesk(keras_tuner.Oracle):
    """The oracle as a trial task sees it: the trial in hand and the one it continues; it keeps the
    metrics the tuner reports and the trial's end for the driver's oracle, and decides nothing."""

    def __init__(self, objective):
        super().__init__(objective=objective, max_trials=None)
        self.updates: list = []

    def hold(self, trial, parent) -> None:
        self.trials = {t.trial_id: t for t in (trial, parent) if t is not None}
        self.updates = []

    def update_trial(self, trial_id, metrics, step=0):
        self.updates.append((dict(metrics), step))
        return super().update_trial(trial_id, metrics, step=step)

    def end_trial(self, trial):
        """The driver's oracle ends it, with what the task returns."""

    def fit_plan_to_epoch(self, trial_id, started, epoch_seconds):
        """The driver fits its plan to the first epoch it hears of; the trial keeps its share."""
        return None

    def populate_space(self, trial_id):
        raise RuntimeError("a Ray trial task runs the driver's trials; it draws none")

    def _save_trial(self, trial):
        """The driver's oracle writes the trial's file."""

    def save(self):
        """The driver's oracle keeps the search's state."""


class TrialTuner(SearchTuner):
    """`SearchTuner` in a trial task: stats go back with the outcome, epochs go to the driver as they end."""

    reports = None
    node = ""

    def keep_stats(self, trial_id: str, entry: dict) -> None:
        self.last_stats = entry

    def run_trial(self, trial, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []),
                               ReportToDriver(self.reports, trial.trial_id, self.node, kwargs.get("epochs"))]
        return super().run_trial(trial, *args, **kwargs)


class ReportToDriver(keras.callbacks.Callback):
    """Sends each epoch's logs to the driver (a Ray queue) as it ends; a lost queue costs only the lines."""

    def __init__(self, reports, trial_id: str, node: str, epochs: Optional[int]):
        super().__init__()
        self.reports, self.trial_id, self.node, self.epochs = reports, trial_id, node, epochs

    def __deepcopy__(self, memo):  # KerasTuner copies each trial's callbacks; the queue is shared
        return ReportToDriver(self.reports, self.trial_id, self.node, self.epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self._send()
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        epochs = (self.params or {}).get("epochs") or self.epochs  # a promotion trains to its rung's epochs
        # Sent once the epoch is kept (`KeepEachEpoch` comes later in the list): a trial cut off
        # between the two never reports an epoch it then trains again.
        self._report = {"trial_id": self.trial_id, "epoch": epoch + 1, "epochs": epochs, "node": self.node,
                        "seconds": round(time.time() - self._start, 1),
                        "logs": {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}}

    def on_train_end(self, logs=None):
        self._send()

    def _send(self) -> None:
        report, self._report = getattr(self, "_report", None), None
        if report is None or self.reports is None:
            return
        with contextlib.suppress(Exception):  # noqa: BLE001 - the driver gone: Ray ends this task anyway
            self.reports.put_nowait(report)


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
