"""Hyperparameter search with KerasTuner: one tuner, one oracle, every selected family.

`oracle.CrossFamilyOracle` decides what runs (known-good first, successive
halving across families, the deadline); `tuner.SearchTuner` runs it within its
share of the time; `trial_choice` picks the best and second choice; the result is
kept by `search_result.SearchResult`. A failed trial is recorded and the search goes on;
rerunning into the same directory resumes.
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Optional

import keras_tuner

from automl.distributed import role
from automl.errors import ConfigError, SearchError
from automl.families import get_family
from automl.hypermodel import FamiliesHyperModel, TaskHyperModel
from automl.leaderboard import terminal_lines
from automl.oracle import ETA, MIN_UNIT_EPOCHS, CrossFamilyOracle, bare_name, family_values
from automl.progress import format_seconds, say, say_table
from automl.search_result import BEST_WEIGHTS, SECOND_WEIGHTS, SearchResult
from automl.training import TENSORBOARD
from automl.trial_choice import compare_at_matched_time, parsimonious_best, second_choice
from automl.tuner import SearchTuner, finished_trials, trial_rows

SEARCH_SAMPLE = 20_000
VAL_SAMPLE = 5_000


#: `search.epochs: auto`: the most epochs a trial may take when a time limit shares them out,
#: and the epochs per trial without a time limit.
AUTO_TRIAL_EPOCH_CAP, AUTO_TRIAL_EPOCHS = 50, 10


def trial_epochs(search, time_limit: Optional[float]) -> int:
    """Epochs passed to each trial: the pinned count, or (auto) a cap that the trial's share of
    the time limit cuts short."""
    if search.epochs != "auto":
        return int(search.epochs)
    return AUTO_TRIAL_EPOCH_CAP if time_limit is not None else AUTO_TRIAL_EPOCHS


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


def family_hyperparameters(values: dict) -> keras_tuner.HyperParameters:
    """A trial's values as the HyperParameters of its family alone (every value Fixed), which
    fine-tuning and export rebuild the same model from."""
    hp = keras_tuner.HyperParameters()
    for name, value in family_values(values).items():
        hp.Fixed(name, value)
    return hp


def trial_sample(search, family, task, data, seed: int):
    """Indices of the training examples a family's trials see (None: all of them).

    `auto` is SEARCH_SAMPLE, or less for families slow per example (transformers).
    """
    if search.max_train_examples == "auto":
        limit = min(SEARCH_SAMPLE, family.info.search_examples or SEARCH_SAMPLE)
    else:
        limit = search.max_train_examples
    if limit and limit < task.examples.count(data, "train"):
        return task.examples.sample(data, "train", limit, seed)
    return None


def search_settings(config, selection) -> str:
    """Everything a finished search's result depends on beyond the data (budgets included):
    computed on the user's config, before time limits are shortened by time already spent."""
    from automl.run_dir import fingerprint

    # Where trials run (engine, cluster) is not what they found: a search moves between them and resumes.
    return fingerprint(config.search.model_dump(mode="json", exclude={"engine", "ray"}), config.time_limit,
                       [c.family for c in selection.candidates])


def run_search(config, task, data, selection, runtime, out_dir: Path, settings: Optional[str] = None,
               time_limit: Optional[float] = None) -> SearchResult:
    """Runs the search over the selected families and returns the best trial.

    A search that finished in an earlier invocation with the same `settings` (default: those
    of `config`) is read back from `search/result.json`, not rerun; one cut short resumes from
    KerasTuner's saved trials. `time_limit`: seconds this invocation may search (the run's
    `budget.RunBudget` says how many); default `search.time_limit`.
    """
    folder = out_dir / "search"
    settings = settings or search_settings(config, selection)
    saved = SearchResult.load(folder, settings)
    if saved is not None:
        say("search", f"finished in an earlier invocation ({len(saved.trials)} trial(s) in {folder}); "
                      f"using its best trial {saved.best['trial_id']}")
        return saved
    limit = config.search.time_limit if time_limit is None else time_limit
    result = _search(config, task, data, selection, runtime, folder, limit)
    if result is None:  # a worker's part ends with the chief's search; the chief keeps the result
        return None
    result.save(folder, settings)
    return result


def search_hypermodel(config, task, data, selection, deadline: Optional[float]):
    """Every selected family as one HyperModel, each on its seeded sample of the training part
    (and the validation part's), and those samples by family: the same wherever a trial runs."""
    val_idx = None
    if task.examples.count(data, "val") > VAL_SAMPLE:
        val_idx = task.examples.sample(data, "val", VAL_SAMPLE, config.seed)
    train_indices = {c.family: trial_sample(config.search, get_family(c.family), task, data, config.seed)
                     for c in selection.candidates}
    hypermodel = FamiliesHyperModel({
        c.family: TaskHyperModel(get_family(c.family), task, data, pretrained=c.pretrained,
                                 train_indices=train_indices[c.family], val_indices=val_idx, deadline=deadline,
                                 label=c.family, seed=config.seed,
                                 max_model_mb=config.constraints.max_model_mb)
        for c in selection.candidates
    })
    return hypermodel, train_indices


def _search(config, task, data, selection, runtime, folder: Path, time_limit: Optional[float]) -> SearchResult:
    # KerasTuner prints each failed trial's traceback; we print one line, and report.json keeps it.
    # Its DEBUG switch is the only way to say so (no public route in 1.4.8).
    from keras_tuner.src import config as keras_tuner_config

    keras_tuner_config.DEBUG = False
    search = config.search
    start = time.time()
    deadline = start + time_limit if time_limit is not None else None
    objective_name = task.goal.objective if search.objective == "auto" else search.objective
    direction = task.goal.direction if search.objective == "auto" else _direction(objective_name)
    objective = keras_tuner.Objective(objective_name, direction)

    hypermodel, train_indices = search_hypermodel(config, task, data, selection, deadline)
    train_size = task.examples.count(data, "train")
    sizes = sorted({train_size if idx is None else len(idx) for idx in train_indices.values()})

    notes: list[str] = []
    epochs = trial_epochs(search, time_limit)
    shared = search.epochs == "auto" and deadline is not None
    families = [c.family for c in selection.candidates]
    known_good = [{"family": c.family, **values} for c in selection.candidates for values in c.known_good]
    pinned = {k: v for k, v in search.hyperparameters.items() if v != "auto"}
    on_ray = search.engine == "ray" and role() is None
    oracle = CrossFamilyOracle(
        families, known_good if search.known_good_first else [], new_trials=search.max_trials,
        deadline=deadline, epochs=epochs, epochs_grow=not shared, promote=search.strategy == "halving",
        pinned=pinned, objective=objective, seed=config.seed,
        max_consecutive_failed_trials=search.max_consecutive_failed_trials,
        # On Ray the cluster notices a lost trial (its task fails and runs again): no leases.
        lease_seconds=None if on_ray else search.lease,
        # A run-wide time limit with time-shared epochs is a budget to spend: the plan grows into it.
        spend_time_left=shared and config.time_limit is not None and config.spend_time_limit)
    oracle.announce = role() == "chief" or on_ray
    oracle.on_ray = on_ray
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
    if finished_trials(oracle):
        say("search", f"resuming after the {finished_trials(oracle)} trial(s) saved in {tuner.project_dir}")
    each = (f"up to {epochs} epoch(s) each, as many as fit in its share of the time left"
            if shared else f"{epochs} epoch(s) each")
    halving = (f", the best third of each rung continuing with {ETA} times the budget"
               if search.strategy == "halving" else "")
    say("search", f"{search.max_trials} trial(s) over {families}{halving}; {each} on "
                  f"{' or '.join(map(str, sizes))} examples; time limit {format_seconds(time_limit)}")
    tuner.tensorboard_root = folder.parent / TENSORBOARD / "search" if config.runtime.tensorboard else None
    if role() == "chief":
        say("search", "waiting for workers (automl run FILE --worker --chief-address HOST:PORT)")
    # KerasTuner 1.4.8 prints a condition's first value each time a trial crosses the wire
    # (conditions.Parent.to_proto); our progress lines go to stderr.
    if on_ray:
        from automl.ray_search import search_on_ray

        search_on_ray(tuner, config, task, data, selection, epochs=epochs, deadline=deadline)
    else:
        with contextlib.redirect_stdout(io.StringIO()) if role() else contextlib.nullcontext():
            tuner.search(epochs=epochs, verbose=0)
    if role() == "worker":
        return None
    rows = trial_rows(tuner)
    notes.extend(oracle.lease_events)
    plan = oracle.fitted_trials or search.max_trials
    if oracle.fitted_trials:
        notes.append(f"{oracle.fitted_trials} new trial(s) of the {search.max_trials} search.max_trials plans: an "
                     f"epoch of the first took {oracle.first_epoch_seconds:.0f}s, and a trial trains at least "
                     f"{MIN_UNIT_EPOCHS} epochs in its share of the search's time")
    extra = oracle.new_started() - plan if oracle.extra_trials else 0
    if extra > 0:
        notes.append(f"the plan of {plan} new trial(s) was done with time left: {extra} more of the "
                     f"leading family ran (search.max_trials plans, the run's time_limit is spent)")
    # The time limit stopped the search only if it cut the plan short.
    # A plan that grew into the time left (spend_time_left) ended when no more of it fitted.
    stopped = deadline is not None and (oracle.extra_trials > 0 or (
        time.time() + oracle.shortest_trial() >= deadline and not oracle.plan_done()))
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
    val_examples = min(task.examples.count(data, "val"), VAL_SAMPLE)
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
    # With a run-wide time limit and epochs left to the time, fine-tuning may spend what the best leaves.
    spend = (config.time_limit is not None and config.spend_time_limit and config.finetune.enabled
             and config.finetune.epochs == "auto")
    second_row = second_choice(done, best_row, selection.families_by_score(), direction, runner_up=spend)
    second, second_weights = chosen(second_row, SECOND_WEIGHTS) if second_row else (None, None)
    if second:
        trial_examples = train_size if train_indices[second["family"]] is None else len(train_indices[second["family"]])
        second["epoch_seconds"] = round(second_row["_epoch_seconds"] * train_size / max(trial_examples, 1), 1)
        second["reason"] = second_row["_reason"]
    trials = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    say("search", f"best: {best['trial_id']} {objective_name}={best_row['objective']:.4f} "
                  f"({len(done)} completed, {len(rows) - len(done)} failed"
                  f"{', stopped by the time limit' if stopped else ''})")
    say_table("search", terminal_lines({"search": {"trials": trials}, "best": best}))
    if second:
        why = ("was still improving when its time ended" if second["reason"] == "still improving"
               else "is the runner-up")
        say("search", f"{second['trial_id']} ({second_row['objective']:.4f}) {why}: fine-tuning may try it with "
                      f"the time {best['family']} leaves")
    return SearchResult(trials, best, best_weights, stopped, time.time() - start, max(sizes), notes,
                        second, second_weights)


