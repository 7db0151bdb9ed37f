"""Hyperparameter search with KerasTuner: one tuner, one oracle, every selected family.

`oracle.CrossFamilyOracle` decides what runs (known-good first, successive
halving across families, the deadline); `SearchTuner` runs it within its
share of the time. A failed trial is recorded and the search goes on;
rerunning into the same directory resumes.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import keras
import keras_tuner
import numpy as np

from automl.distributed import role
from automl.errors import ConfigError, SearchError
from automl.families import get_family
from automl.hypermodel import FamiliesHyperModel, TaskHyperModel, forget_progress
from automl.oracle import ETA, SHARE_KEY, CrossFamilyOracle, bare_name, family_values, rung_of
from automl.progress import format_seconds, say
from automl.training import TENSORBOARD

SEARCH_SAMPLE = 20_000
VAL_SAMPLE = 5_000
_FAILED = ("FAILED", "INVALID")


RESULT, BEST_WEIGHTS, SECOND_WEIGHTS = "result.json", "best.weights.h5", "second.weights.h5"
#: Per tuner project: each trial's wall-clock seconds and parameter count.
TRIAL_STATS = "trial_stats.json"


@dataclass
class SearchResult:
    """The search's outcome; `best["_hp"]` holds the best trial's HyperParameters and
    `best_weights` its trained weights (None when they could not be reloaded)."""

    trials: list[dict]
    best: dict
    best_weights: Optional[Path]
    stopped_by_time_limit: bool
    seconds: float
    train_examples: int
    notes: list[str] = field(default_factory=list)
    #: The best trial of a higher-ranked family that was still improving when its time ended
    #: (`second_choice`), which fine-tuning may try with the time the best one leaves; its
    #: `epoch_seconds` estimates one epoch on all training examples.
    second: Optional[dict] = None
    second_weights: Optional[Path] = None

    def to_report(self) -> dict:
        return {
            "trials": self.trials,
            "objective_by_time": objective_by_time(self.trials, self.best.get("objective", {}).get("direction")),
            "stopped_by_time_limit": self.stopped_by_time_limit,
            "seconds": round(self.seconds, 1),
            "train_examples_per_trial": self.train_examples,
            "notes": self.notes,
            **({"second": public_fields(self.second)} if self.second else {}),
        }

    def save(self, folder: Path, settings: str) -> None:
        from automl.run_dir import write_json

        second = {"second_hyperparameters": self.second["_hp"].get_config()} if self.second else {}
        write_json(folder / RESULT, {"settings": settings, "search": self.to_report(), "best": public_fields(self.best),
                                     "hyperparameters": self.best["_hp"].get_config(), **second})

    @classmethod
    def load(cls, folder: Path, settings: str) -> Optional["SearchResult"]:
        """The result a finished search saved with the same settings, or None."""
        path = folder / RESULT
        if not path.exists():
            return None
        saved = json.loads(path.read_text())
        if saved.get("settings") != settings:
            return None
        report = saved["search"]
        best = {**saved["best"], "_hp": keras_tuner.HyperParameters.from_config(saved["hyperparameters"])}
        weights = folder / BEST_WEIGHTS
        second, second_weights = report.get("second"), folder / SECOND_WEIGHTS
        if second:
            second = {**second, "_hp": keras_tuner.HyperParameters.from_config(saved["second_hyperparameters"])}
        return cls(report["trials"], best, weights if weights.exists() else None, report["stopped_by_time_limit"],
                   report["seconds"], report["train_examples_per_trial"], report["notes"], second,
                   second_weights if second and second_weights.exists() else None)


def public_fields(chosen: dict) -> dict:
    return {k: v for k, v in chosen.items() if not k.startswith("_")}


#: `search.epochs: auto`: the most epochs a trial may take when a time limit shares them out,
#: and the epochs per trial without a time limit.
AUTO_TRIAL_EPOCH_CAP, AUTO_TRIAL_EPOCHS = 50, 10


def trial_epochs(search) -> int:
    """Epochs passed to each trial: the pinned count, or (auto) a cap that the trial's share of
    the time limit cuts short."""
    if search.epochs != "auto":
        return int(search.epochs)
    return AUTO_TRIAL_EPOCH_CAP if search.time_limit else AUTO_TRIAL_EPOCHS


#: Without a sampling model of the objective (errors such as val_mae), scores this close
#: (relative) to the best count as tied.
RELATIVE_TIE = 0.01


def tie_band(best: float, direction: str, val_examples: int) -> float:
    """How far from the best a validation score may be and still tie with it: one standard
    error of a proportion (accuracy, IoU) on the validation examples, else RELATIVE_TIE."""
    if direction == "max" and 0.0 <= best <= 1.0 and val_examples > 0:
        return float(np.sqrt(max(best * (1 - best), 1.0 / val_examples) / val_examples))
    return RELATIVE_TIE * abs(best)


def parsimonious_best(done: list[dict], direction: str, val_examples: int) -> tuple[dict, str | None]:
    """The best trial, or when others tie with it within the noise of validation, the one with
    the fewest parameters, then a known-good one (proven on long runs where a short trial's
    lead is noise), and a note saying so.

    Rows compare on "compared" when present (see `compare_at_matched_time`), else "objective";
    of equal scores, the higher rung (the further trained checkpoint of a chain) goes first.
    """
    sign = -1 if direction == "max" else 1
    best = min(done, key=lambda r: (sign * _compared(r), -r.get("rung", 0)))
    band = tie_band(_compared(best), direction, val_examples)
    tied = [r for r in done if sign * (_compared(r) - _compared(best)) <= band]
    chosen = min(tied, key=lambda r: (r.get("params") or float("inf"), not r.get("known_good"),
                                      sign * _compared(r), -r.get("rung", 0)))
    if chosen is best:
        return best, None
    if (chosen.get("params") or 0) < (best.get("params") or 0):
        why = f"({chosen['params']:,} parameters, {_compared(chosen):.4f})", f"({best['params']:,} parameters, " \
              f"{_compared(best):.4f})", "the smaller model is kept"
    else:
        why = f"({_compared(chosen):.4f})", f"({_compared(best):.4f})", "the known-good configuration is kept"
    return chosen, (f"{chosen['trial_id']} {why[0]} ties {best['trial_id']} {why[1]} within the validation "
                    f"noise (±{band:.4f}): {why[2]}")


def _compared(row: dict) -> float:
    return row["compared"] if row.get("compared") is not None else row["objective"]


def compare_at_matched_time(done: list[dict], direction: str) -> Optional[float]:
    """Score trials at equal training time: each row's "compared" is the best its promotion
    chain reached within the seconds the second-longest chain of the highest rung trained.
    Returns those seconds, or None when no trial trained past them.

    Fine-tuning gets a time limit, not a count of epochs, so time is the budget trials are
    matched on. Trials end by time and the last takes what the search has left; and a small
    batch takes more steps per epoch, which wins a short trial but costs epochs later. An
    epoch's seconds are the chain's mean (seconds per epoch of each of its trials).
    Rows need "trial_id", "continues", "seconds", "rung" and "history" (the objective after
    each of the trial's own epochs; a chain's epochs are its trials' in order).
    """
    sign = -1 if direction == "max" else 1
    by_id = {r["trial_id"]: r for r in done}

    def chain(row):
        while row is not None:
            yield row
            row = by_id.get(row.get("continues"))

    scored = {}  # id(row) -> (the chain's objective per epoch, seconds per epoch)
    for r in done:
        links = list(chain(r))[::-1]  # the first trial of the chain first
        if all(link.get("history") and link.get("seconds") for link in links):
            scored[id(r)] = ([v for link in links for v in link["history"]],
                             float(np.mean([link["seconds"] / len(link["history"]) for link in links])))
    top = max(r["rung"] for r in done)
    spent = sorted((len(scored[id(r)][0]) * scored[id(r)][1] for r in done if r["rung"] == top and id(r) in scored),
                   reverse=True)
    if len(spent) < 2:
        return None
    cap, matched = spent[1], None
    for r in done:
        if id(r) not in scored or len(scored[id(r)][0]) * scored[id(r)][1] <= cap:
            continue
        scores, seconds = scored[id(r)]
        within = [v for epoch, v in enumerate(scores, start=1)
                  if epoch * seconds <= cap * 1.001 and v is not None and np.isfinite(v)]
        if within:
            r["compared"] = min(within, key=lambda v: sign * v)
            matched = cap
    return matched


def epoch_objectives(results, objective: str) -> Optional[list]:
    """The objective after each epoch of a trial, from what `run_trial` returned (KerasTuner
    keeps only a trial's best epoch); None when the results do not say."""
    first = results[0] if isinstance(results, list) and results else results
    values = getattr(first, "history", {}).get(objective)
    if values is None:
        return None
    return [float(v) if v is not None and np.isfinite(v) else None for v in values]


def objective_by_time(trials: list[dict], direction: str | None) -> list[list[float]]:
    """[[search seconds at the end of a trial, best objective so far], ...] in the order trials ran."""
    sign = -1 if direction == "max" else 1
    points, elapsed, best = [], 0.0, None
    for trial in trials:
        elapsed += trial.get("seconds") or 0.0
        value = trial.get("objective")
        if value is not None and (best is None or sign * (value - best) < 0):
            best = value
        if best is not None:
            points.append([round(elapsed, 1), best])
    return points


def pinned_hyperparameters(values: dict) -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        if value != "auto":
            hp.Fixed(name, value)
    return hp


def _direction(objective: str) -> str:
    """min for losses and errors (mae, rmse...), max for scores (accuracy, IoU...)."""
    lower_is_better = ("loss", "error", "mae", "mse", "rmse", "mape")
    return "min" if any(objective.endswith(word) for word in lower_is_better) else "max"


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

    def on_trial_begin(self, trial):
        self._trial_start, self._trial_history = time.time(), None
        self._gradients_before = custom_gradient_names()
        hypermodel = self.hypermodel
        share = trial.hyperparameters.values.get(SHARE_KEY)  # set by the oracle (the chief's, on a worker)
        hypermodel.trial_deadline = None if share is None else self._trial_start + share
        hypermodel.trial_id = trial.trial_id
        hypermodel.tensorboard_dir = str(self.tensorboard_root / trial.trial_id) if self.tensorboard_root else None
        hypermodel.progress_dir = Path(self.get_trial_dir(trial.trial_id))
        values = trial.hyperparameters.values
        shown = family_values(values)
        parent = values.get("tuner/trial_id")
        how = f", continues {parent} from epoch {values['tuner/initial_epoch']}" if parent else ""
        say("search", f"trial {trial.trial_id} ({values.get('family')}, rung {rung_of(trial)}"
                      f"{how}): {shown}")
        super().on_trial_begin(trial)

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
        if trial.status in _FAILED and trial.message:
            say("search", f"trial failed: {trial.message.strip().splitlines()[-1][:300]}")
        # One file per tuner: workers sharing the run directory must not write over each other.
        stats_file = Path(self.project_dir) / (TRIAL_STATS if self.tuner_id == "tuner0"
                                               else f"trial_stats_{self.tuner_id}.json")
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        family = self.hypermodel.of(trial.hyperparameters)
        release_memory(keep_gradients=self._gradients_before)
        forget_progress(self.get_trial_dir(trial.trial_id))
        stats[trial.trial_id] = {"seconds": round(time.time() - self._trial_start, 1), "params": family.last_params,
                                 "history": self._trial_history, "resident_mb": resident_mb()}
        stats_file.write_text(json.dumps(stats))
        family.last_params = None
        super().on_trial_end(trial)


def release_memory(keep_gradients: Optional[set] = None) -> None:
    """Frees what a finished trial held (its models and graphs) before its memory is measured.

    Every trace of a training step registers a `tf.custom_gradient` (the optimizer's all-reduce
    of the gradients, even on one device) in TensorFlow's global gradient table, which never lets
    go of it; the entry holds the traced graph and through it the trial's variables: about 25 MB
    per quickstart trial (tensorflow#97697, keras#20245). The entries the trial added, those not
    in `keep_gradients`, go: the trial's step is traced and done with. (glibc's malloc_trim on
    top changed nothing measurable.)

    What still grows is TensorFlow's cache of oneDNN kernels, kept per layer shape seen, which
    no API clears: over 40 quickstart trials 1.09 times trial 5's memory at trial 20 and 1.58 at
    trial 40 (after a large MobileNet trial); with TF_ENABLE_ONEDNN_OPTS=0, 0.99 and 1.01, but
    CPU epochs take about twice as long (README, "Memory over a long search")."""
    import gc

    keras.backend.clear_session()
    if keep_gradients is not None:
        registry = _gradient_registry()
        for name in [name for name in registry if name.startswith("CustomGradient-") and name not in keep_gradients]:
            del registry[name]
    gc.collect()


def custom_gradient_names() -> set:
    """The names in TensorFlow's global gradient table now (see `release_memory`)."""
    return set(_gradient_registry())


def _gradient_registry() -> dict:
    """TensorFlow's table of gradient functions by name; private, so an empty dict (nothing is
    released, nothing breaks) if a TensorFlow version moves it."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else {}


def resident_mb() -> Optional[float]:
    """This process's resident memory in MB (None where /proc is not there)."""
    import os

    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


#: A worker reports its running trial this many times per lease: a first epoch that traces the
#: training step, or any epoch longer than the lease, must not lose the trial to another worker.
HEARTBEATS_PER_LEASE = 4


@contextlib.contextmanager
def keep_lease(oracle, trial_id: str, every: Optional[float]):
    """Reports `trial_id` to `oracle` every `every` seconds from a thread while the block runs
    (and until the oracle says the trial has ended); nothing when `every` is None."""
    if not every:
        yield
        return
    stop = threading.Event()

    def beat():
        while not stop.wait(every):
            try:
                if oracle.get_trial(trial_id).status != keras_tuner.engine.trial.TrialStatus.RUNNING:
                    return
            except Exception:  # noqa: BLE001 - the chief away for a moment: the next beat or epoch tells
                continue

    thread = threading.Thread(target=beat, name=f"lease-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


class ReportEachEpoch(keras.callbacks.Callback):
    """Tells the oracle after every epoch that the trial is still training (its lease, when the
    search is spread over workers), and ends a trial the oracle says has ended: another worker
    took it over and finished it."""

    def __init__(self, oracle, trial_id: str):
        super().__init__()
        self.oracle, self.trial_id = oracle, trial_id

    def __deepcopy__(self, memo):  # KerasTuner copies each trial's callbacks; the oracle is shared
        return ReportEachEpoch(self.oracle, self.trial_id)

    def on_epoch_end(self, epoch, logs=None):
        if self.oracle.get_trial(self.trial_id).status != keras_tuner.engine.trial.TrialStatus.RUNNING:
            self.model.stop_training = True


def check_pinned_names(pinned: dict, known: set[str]) -> None:
    """Every pinned name must be a hyperparameter some selected family declares (`known`)."""
    import difflib

    for name in pinned:
        if known and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"search.hyperparameters: no selected family has a hyperparameter named "
                f"{name!r}.{hint} Known: {', '.join(sorted(known))}"
            )


def _trial_rows(tuner) -> list[dict]:
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
            "status": "failed" if status in _FAILED else status.lower(),
            "objective": None if trial.score is None or not np.isfinite(trial.score) else float(trial.score),
            "seconds": stats.get(trial_id, {}).get("seconds"),
            "params": stats.get(trial_id, {}).get("params"),
            "history": stats.get(trial_id, {}).get("history"),
            # The process's resident memory as the trial ended: flat across trials when each
            # trial's models and graphs are released.
            "resident_mb": stats.get(trial_id, {}).get("resident_mb"),
            "hyperparameters": family_values(values),
            "worker": oracle.ran_by.get(trial_id) if role() == "chief" else None,
            "error": (trial.message or "").strip().splitlines()[-1] if status in _FAILED and trial.message else None,
            "_message": trial.message,
            "_trial": trial,
        })
    return rows


def family_hyperparameters(values: dict) -> keras_tuner.HyperParameters:
    """A trial's values as the HyperParameters of its family alone (every value Fixed), which
    fine-tuning and export rebuild the same model from."""
    hp = keras_tuner.HyperParameters()
    for name, value in family_values(values).items():
        hp.Fixed(name, value)
    return hp


def _trial_sample(search, family, task, data, seed: int):
    """Indices of the training examples a family's trials see (None: all of them).

    `auto` is SEARCH_SAMPLE, or less for families slow per example (transformers).
    """
    if search.max_train_examples == "auto":
        limit = min(SEARCH_SAMPLE, family.info.search_examples or SEARCH_SAMPLE)
    else:
        limit = search.max_train_examples
    if limit and limit < task.part_size(data, "train"):
        return task.sample(data, "train", limit, seed)
    return None


def _finished(oracle) -> int:
    return sum(1 for t in oracle.trials.values() if t.status != keras_tuner.engine.trial.TrialStatus.RUNNING)


def search_settings(config, selection) -> str:
    """Everything a finished search's result depends on beyond the data (budgets included):
    computed on the user's config, before time limits are shortened by time already spent."""
    from automl.run_dir import fingerprint

    return fingerprint(config.search.model_dump(mode="json"), config.time_limit,
                       [c.family for c in selection.candidates])


def run_search(config, task, data, selection, runtime, out_dir: Path, settings: Optional[str] = None) -> SearchResult:
    """Runs the search over the selected families and returns the best trial.

    A search that finished in an earlier invocation with the same `settings` (default: those
    of `config`) is read back from `search/result.json`, not rerun; one cut short resumes from
    KerasTuner's saved trials.
    """
    folder = out_dir / "search"
    settings = settings or search_settings(config, selection)
    saved = SearchResult.load(folder, settings)
    if saved is not None:
        say("search", f"finished in an earlier invocation ({len(saved.trials)} trial(s) in {folder}); "
                      f"using its best trial {saved.best['trial_id']}")
        return saved
    result = _search(config, task, data, selection, runtime, folder)
    if result is None:  # a worker's part ends with the chief's search; the chief keeps the result
        return None
    result.save(folder, settings)
    return result


def _search(config, task, data, selection, runtime, folder: Path) -> SearchResult:
    # KerasTuner prints each failed trial's traceback; we print one line, and report.json keeps it.
    from keras_tuner.src import config as keras_tuner_config

    keras_tuner_config.DEBUG = False
    search = config.search
    start = time.time()
    deadline = start + search.time_limit if search.time_limit else None
    objective_name = task.objective if search.objective == "auto" else search.objective
    direction = task.objective_direction if search.objective == "auto" else _direction(objective_name)
    objective = keras_tuner.Objective(objective_name, direction)

    val_idx = None
    if task.part_size(data, "val") > VAL_SAMPLE:
        val_idx = task.sample(data, "val", VAL_SAMPLE, config.seed)
    train_indices = {c.family: _trial_sample(search, get_family(c.family), task, data, config.seed)
                     for c in selection.candidates}
    train_size = task.part_size(data, "train")
    sizes = sorted({train_size if idx is None else len(idx) for idx in train_indices.values()})

    notes: list[str] = []
    epochs = trial_epochs(search)
    shared = search.epochs == "auto" and deadline is not None
    hypermodel = FamiliesHyperModel({
        c.family: TaskHyperModel(get_family(c.family), task, data, pretrained=c.pretrained,
                                 train_indices=train_indices[c.family], val_indices=val_idx, deadline=deadline,
                                 label=c.family, seed=config.seed,
                                 max_model_mb=config.constraints.max_model_mb)
        for c in selection.candidates
    })
    families = [c.family for c in selection.candidates]
    known_good = [{"family": c.family, **values} for c in selection.candidates for values in c.known_good]
    pinned = {k: v for k, v in search.hyperparameters.items() if v != "auto"}
    oracle = CrossFamilyOracle(
        families, known_good if search.known_good_first else [], new_trials=search.max_trials,
        deadline=deadline, epochs=epochs, epochs_grow=not shared, promote=search.strategy == "halving",
        pinned=pinned, objective=objective, seed=config.seed,
        max_consecutive_failed_trials=search.max_consecutive_failed_trials, lease_seconds=search.lease)
    oracle.announce = role() == "chief"
    try:
        # KerasTuner prints "Reloading Tuner from ..." on stdout; we say it on our progress line.
        with contextlib.redirect_stdout(io.StringIO()):
            tuner = SearchTuner(
                oracle=oracle, hypermodel=hypermodel, directory=str(folder), project_name="trials",
                overwrite=False,
                distribution_strategy=runtime.strategy if runtime and runtime.distributed else None)
        if pinned:  # a pinned value no family can build with fails here, not in every trial
            for family in families:
                hp = oracle.get_space()
                hp.values = oracle.defaults(family)
                hypermodel.build(hp)
    except Exception as err:  # KerasTuner builds every family's model once to learn the space
        cause = f"with the pinned search.hyperparameters {pinned}" if pinned else "with its default hyperparameters"
        raise SearchError(f"family {hypermodel.building}: no model can be built {cause}: "
                          f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from err
    # Names the families declared (in their conditional scopes), not the pinned ones themselves.
    check_pinned_names(search.hyperparameters, {bare_name(hp.name) for hp in oracle.get_space().space
                                                if hp.name != "family"})
    if _finished(oracle):
        say("search", f"resuming after the {_finished(oracle)} trial(s) saved in {tuner.project_dir}")
    each = (f"up to {epochs} epoch(s) each, as many as fit in its share of the time left"
            if shared else f"{epochs} epoch(s) each")
    halving = (f", the best third of each rung continuing with {ETA} times the budget"
               if search.strategy == "halving" else "")
    say("search", f"{search.max_trials} trial(s) over {families}{halving}; {each} on "
                  f"{' or '.join(map(str, sizes))} examples; time limit {format_seconds(search.time_limit)}")
    tuner.tensorboard_root = folder.parent / TENSORBOARD / "search" if config.runtime.tensorboard else None
    if role() == "chief":
        say("search", "waiting for workers (automl run FILE --worker --chief-address HOST:PORT)")
    # KerasTuner 1.4.8 prints a condition's first value each time a trial crosses the wire
    # (conditions.Parent.to_proto); our progress lines go to stderr.
    with contextlib.redirect_stdout(io.StringIO()) if role() else contextlib.nullcontext():
        tuner.search(epochs=epochs, verbose=0)
    if role() == "worker":
        return None
    rows = _trial_rows(tuner)
    notes.extend(oracle.lease_events)
    # The time limit stopped the search only if it cut the plan short.
    stopped = deadline is not None and time.time() >= deadline and not oracle.plan_done()
    done = [r for r in rows if r["status"] == "completed" and r["objective"] is not None]
    if not done:
        failed = [r for r in rows if r["status"] == "failed"]
        if not failed:
            raise SearchError("no search trial ran: raise search.time_limit (or the run's time_limit)")
        error = SearchError(f"all {len(rows)} search trial(s) failed; the first with: {failed[0]['error']}")
        error.detail = failed[0]["_message"]
        raise error
    for row in done:
        row["known_good"] = any(row["family"] == kg["family"] and all(
            row["hyperparameters"].get(k) == v for k, v in kg.items() if k != "family") for kg in known_good)
    cap = compare_at_matched_time(done, direction)
    if cap:
        notes.append(f"trials were compared on their best {objective_name} within {format_seconds(cap)} of "
                     f"training, as long as a second trial of the last rung trained: fine-tuning gets time, "
                     f"not epochs, and the last trial's extra time is not evidence")
    val_examples = min(task.part_size(data, "val"), VAL_SAMPLE)
    best_row, note = parsimonious_best(done, direction, val_examples)
    if note:
        notes.append(note)

    def chosen(row: dict, weights_name: str) -> tuple[dict, Optional[Path]]:
        weights = folder / weights_name
        weights.unlink(missing_ok=True)
        try:
            tuner.load_model(row["_trial"]).save_weights(weights)
        except Exception as err:  # noqa: BLE001 - a missing checkpoint only costs the warm start
            notes.append(f"{row['trial_id']}'s weights could not be reloaded ({err}); fine-tuning starts fresh")
            weights = None
        return {
            "family": row["family"],
            "trial_id": row["trial_id"],
            "objective": {"name": objective_name, "direction": direction, "value": row["objective"]},
            "hyperparameters": row["hyperparameters"],
            "pretrained": next(c.pretrained for c in selection.candidates if c.family == row["family"]),
            "_hp": family_hyperparameters(row["_trial"].hyperparameters.values),
        }, weights

    best, best_weights = chosen(best_row, BEST_WEIGHTS)
    second_row = second_choice(done, best_row, selection.families_by_score(), direction)
    second, second_weights = chosen(second_row, SECOND_WEIGHTS) if second_row else (None, None)
    if second:
        trial_examples = train_size if train_indices[second["family"]] is None else len(train_indices[second["family"]])
        second["epoch_seconds"] = round(second_row["_epoch_seconds"] * train_size / max(trial_examples, 1), 1)
    trials = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    say("search", f"best: {best['trial_id']} {objective_name}={best_row['objective']:.4f} "
                  f"({len(done)} completed, {len(rows) - len(done)} failed"
                  f"{', stopped by the time limit' if stopped else ''})")
    if second:
        say("search", f"{second['trial_id']} ({second_row['objective']:.4f}) was still improving when its time "
                      f"ended: fine-tuning may try it with the time {best['family']} leaves")
    return SearchResult(trials, best, best_weights, stopped, time.time() - start, max(sizes), notes,
                        second, second_weights)


def second_choice(done: list[dict], best_row: dict, ranked_families: list[str], direction: str) -> Optional[dict]:
    """The search's verdict on a family is only as good as the training its trials got: a
    pretrained encoder after 60 steps scores below a bag of words after 14 epochs and would
    pass it with more. This returns the best trial of the highest-ranked family (by the
    selector's score) ranked above the best trial's family whose best trial was still
    improving at its last epoch; None when there is none."""
    rank = {family: i for i, family in enumerate(ranked_families)}
    sign = -1 if direction == "max" else 1
    best_of: dict[str, dict] = {}
    for row in done:
        family = row["family"]
        if family == best_row["family"] or rank.get(family, len(rank)) >= rank.get(best_row["family"], len(rank)):
            continue
        if family not in best_of or sign * (row["objective"] - best_of[family]["objective"]) < 0:
            best_of[family] = row
    improving = []
    for family, row in best_of.items():
        history = [sign * v if v is not None else float("inf") for v in row.get("history") or []]
        if history and row.get("seconds") and min(history) == history[-1]:
            row["_epoch_seconds"] = row["seconds"] / len(history)
            improving.append(row)
    return min(improving, key=lambda r: rank[r["family"]], default=None)

