"""The KerasTuner tuner of the search: runs the oracle's trials, each within its share of the
time, and keeps each trial's seconds, parameters, epoch objectives and memory beside KerasTuner's
files (which keep only a trial's best epoch)."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Optional

import keras_tuner
import numpy as np

from automl.distributed import role
from automl.hypermodel import forget_progress
from automl.lease import HEARTBEATS_PER_LEASE, ReportEachEpoch, keep_lease
from automl.oracle import SHARE_KEY, family_values, rung_of
from automl.progress import format_seconds, say, stop_heartbeat
from automl.trial_choice import epoch_objectives
from automl.trial_memory import custom_gradient_names, release_memory, resident_mb

FAILED = ("FAILED", "INVALID")
#: Per tuner project: each trial's wall-clock seconds and parameter count.
TRIAL_STATS = "trial_stats.json"


class SearchTuner(keras_tuner.Tuner):
    """Runs the oracle's trials: each gets its units' share of the time left, a promoted
    trial starts from the checkpoint of the trial it continues, and each trial's seconds
    and parameter count are kept beside KerasTuner's files."""

    #: TensorBoard logs go to <this>/<trial id> (None: no logs).
    tensorboard_root: Optional[Path] = None

    def __init__(self, oracle, *args, **kwargs):
        # Read before KerasTuner puts a client of the chief's oracle in self.oracle on a worker.
        lease = getattr(oracle, "lease_seconds", None)
        super().__init__(oracle, *args, **kwargs)
        #: How often a worker reports its running trial between epochs (None: only at epochs).
        self.heartbeat_seconds = max(0.5, lease / HEARTBEATS_PER_LEASE) if lease and role() == "worker" else None
        #: Bytes of the largest checkpoint a trial wrote: the room the next trial needs.
        self._largest_checkpoint: Optional[int] = None
        #: When this process began searching, and the plan's units ended by then (a resumed
        #: search's): the pace the ETA of the trials left is read from.
        self._pace_from: Optional[tuple[float, int]] = None

    def on_trial_begin(self, trial):
        from automl.disk import ensure_room

        # Outside KerasTuner's per-trial error handling: a full disk ends the search, not one trial.
        if self._largest_checkpoint is None:  # once per process: a resumed search has files already
            self._largest_checkpoint = _largest_h5(Path(self.project_dir))
        ensure_room(Path(self.project_dir), 3 * self._largest_checkpoint, "a search trial's checkpoints")
        self._trial_start, self._trial_history = time.time(), None
        self._gradients_before = custom_gradient_names()
        hypermodel = self.hypermodel
        share = trial.hyperparameters.values.get(SHARE_KEY)  # set by the oracle (the chief's, on a worker)
        hypermodel.trial_deadline = None if share is None else self._trial_start + share
        # The oracle fits its plan to the first epoch where it runs in this process (not a worker's).
        hypermodel.replan = None if role() or share is None else functools.partial(
            self.oracle.fit_plan_to_epoch, trial.trial_id, self._trial_start)
        hypermodel.trial_id = trial.trial_id
        hypermodel.tensorboard_dir = (str(self.tensorboard_root / self._tensorboard_run(trial))
                                      if self.tensorboard_root else None)
        hypermodel.progress_dir = Path(self.get_trial_dir(trial.trial_id))
        self.announce(trial)
        super().on_trial_begin(trial)

    def announce(self, trial, where: str = "") -> None:
        """The line a trial starts with: its place in the plan, family, id, rung, values (`where`: its node)."""
        values = trial.hyperparameters.values
        shown = " ".join(f"{key}={value}" for key, value in family_values(values).items())
        parent = values.get("tuner/trial_id")
        how = f", continues {parent} from epoch {values['tuner/initial_epoch']}" if parent else ""
        say("search", f"trial {self._position()}{values.get('family')} (id {trial.trial_id}, rung {rung_of(trial)}"
                      f"{how}{where}{self._time_left()}): {shown}")

    def _tensorboard_run(self, trial) -> str:
        """"small_cnn-0003": the family and the trial a promotion chain starts from, so a trial
        promoted to the next rung goes on in the same TensorBoard run (its epochs continue)."""
        values = trial.hyperparameters.values
        first = trial.trial_id
        parent = values.get("tuner/trial_id")
        while parent is not None:
            first = parent
            try:
                parent = self.oracle.get_trial(parent).hyperparameters.values.get("tuner/trial_id")
            except Exception:  # noqa: BLE001 - a worker's client may not reach it: the parent's id still names the run
                parent = None
        return f"{values.get('family')}-{first}"

    def _position(self) -> str:
        """"3/8 ": this trial's place in the plan (which grows with time left over); nothing on a
        worker, whose oracle is a client of the chief's."""
        planned = getattr(self.oracle, "planned_trial_count", None)
        if planned is None:
            return ""
        begun = len(self.oracle.trials)
        return f"{begun}/{max(begun, planned())} "

    def _time_left(self) -> str:
        """The search's time left: to its deadline, or at the pace of the trials ended so far."""
        oracle = self.oracle
        if getattr(oracle, "planned_units", None) is None:
            return ""
        if oracle.deadline is not None:
            return f"; search time left {format_seconds(oracle.deadline - time.time())}"
        ended = oracle.units_ended()
        if self._pace_from is None:
            self._pace_from = (time.time(), ended)
        started, ended_before = self._pace_from
        if ended <= ended_before:
            return ""
        pace = (time.time() - started) / (ended - ended_before)
        return f"; about {format_seconds(pace * max(0, oracle.planned_units() - ended))} of search left"

    def run_trial(self, trial, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), ReportEachEpoch(self.oracle, trial.trial_id)]
        parent = trial.hyperparameters.values.get("tuner/trial_id")
        self.hypermodel.start_weights = None
        if parent is not None:
            self.hypermodel.start_weights = self.load_model(self.oracle.get_trial(parent)).get_weights()
        try:
            with keep_lease(self.oracle, trial.trial_id, self.heartbeat_seconds):
                results = super().run_trial(trial, *args, **kwargs)
            self._trial_history = epoch_objectives(results, self.oracle.objective.name)
            return results
        finally:
            self.hypermodel.start_weights = None

    def on_trial_end(self, trial):
        stop_heartbeat()  # a trial that failed mid-epoch
        if trial.status in FAILED and trial.message:
            say("search", f"trial failed: {trial.message.strip().splitlines()[-1][:300]}")
        family = self.hypermodel.of(trial.hyperparameters)
        release_memory(keep_gradients=self._gradients_before)
        forget_progress(self.get_trial_dir(trial.trial_id))
        written = _largest_h5(Path(self.get_trial_dir(trial.trial_id)))
        self._largest_checkpoint = max(self._largest_checkpoint or 0, written)
        self.keep_stats(trial.trial_id, {"seconds": round(time.time() - self._trial_start, 1),
                                         "params": family.last_params, "history": self._trial_history,
                                         "resident_mb": resident_mb()})
        family.last_params = None
        super().on_trial_end(trial)

    def keep_stats(self, trial_id: str, entry: dict) -> None:
        """Adds a trial's seconds, parameters, epoch objectives and memory to this tuner's stats file."""
        # One file per tuner: workers sharing the run directory must not write over each other.
        stats_file = Path(self.project_dir) / (TRIAL_STATS if self.tuner_id == "tuner0"
                                               else f"trial_stats_{self.tuner_id}.json")
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        stats[trial_id] = entry
        stats_file.write_text(json.dumps(stats))


def _largest_h5(folder: Path) -> int:
    return max((p.stat().st_size for p in folder.rglob("*.h5")), default=0)


def trial_rows(tuner) -> list[dict]:
    stats = {}
    for stats_file in sorted(Path(tuner.project_dir).glob("trial_stats*.json")):
        stats.update(json.loads(stats_file.read_text()))
    oracle = tuner.oracle
    rows = []
    for trial_id, trial in sorted(oracle.trials.items()):
        status, values = trial.status, trial.hyperparameters.values
        family = values.get("family")
        parent = values.get("tuner/trial_id")
        rows.append({
            "trial_id": f"{family}/{trial_id}",
            "family": family,
            "rung": oracle.rung(trial_id),
            "continues": f"{family}/{parent}" if parent else None,
            "status": "failed" if status in FAILED else status.lower(),
            "objective": None if trial.score is None or not np.isfinite(trial.score) else float(trial.score),
            "seconds": stats.get(trial_id, {}).get("seconds"),
            "params": stats.get(trial_id, {}).get("params"),
            "history": stats.get(trial_id, {}).get("history"),
            # The process's resident memory as the trial ended: flat across trials when each
            # trial's models and graphs are released.
            "resident_mb": stats.get(trial_id, {}).get("resident_mb"),
            "hyperparameters": family_values(values),
            "worker": oracle.ran_by.get(trial_id) if role() == "chief" or oracle.on_ray else None,
            "error": (trial.message or "").strip().splitlines()[-1] if status in FAILED and trial.message else None,
            "_message": trial.message,
            "_trial": trial,
        })
    return rows


def finished_trials(oracle) -> int:
    return sum(1 for t in oracle.trials.values() if t.status != keras_tuner.engine.trial.TrialStatus.RUNNING)
