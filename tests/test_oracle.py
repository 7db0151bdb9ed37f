"""The search's oracle: known-good first, successive halving across families, its own state."""

import time

import keras_tuner
import numpy as np

from automl.oracle import CrossFamilyOracle
from keras_tuner.engine.trial import Trial, TrialStatus

SCORES = {"good": 0.9, "poor": 0.5}


def space():
    """As FamiliesHyperModel declares it: each family's names in its own scope."""
    hp = keras_tuner.HyperParameters()
    hp.Choice("family", ["good", "poor"])
    with hp.conditional_scope("family", ["good"]), hp.name_scope("good"):
        hp.Float("rate", 0.0, 1.0, default=0.5)
        hp.Float("dropout", 0.0, 0.5, default=0.1)
    with hp.conditional_scope("family", ["poor"]), hp.name_scope("poor"):
        hp.Int("width", 1, 64, default=8)
        hp.Float("dropout", 0.0, 0.5, default=0.2)
    return hp


def make_oracle(new_trials=9, known_good=(), deadline=None, promote=True):
    return CrossFamilyOracle(["good", "poor"], list(known_good), new_trials=new_trials, deadline=deadline,
                             epochs=2, epochs_grow=True, promote=promote, hyperparameters=space(),
                             objective=keras_tuner.Objective("val_score", "max"), seed=1)


def run(oracle, trial_id, score_of=None):
    """Asks the oracle for a trial and 'trains' it: the family's score, plus a little per value."""
    response = oracle.populate_space(trial_id)
    if response["status"] != TrialStatus.RUNNING:
        return None
    hp = oracle.hyperparameters.copy()
    hp.values = dict(response["values"])
    # KerasTuner drops the values of inactive declarations as a trial starts: none of ours may go.
    hp.ensure_active_values()
    assert hp.values == response["values"]
    trial = Trial(hyperparameters=hp, trial_id=trial_id, status=TrialStatus.COMPLETED)
    values = response["values"]
    trial.score = score_of(values) if score_of else (
        SCORES[values["family"]] + 0.01 * values.get("good/rate", 0) + 0.05 * values.get("tuner/rung", 0))
    # KerasTuner's best step counts from the trial's own first epoch: here, its last.
    trial.best_step = values.get("tuner/epochs", 2) - values.get("tuner/initial_epoch", 0) - 1
    oracle.trials[trial_id] = trial
    return values


def test_a_family_that_does_badly_gets_fewer_trials_but_not_none():
    oracle = make_oracle(new_trials=12)
    started = [run(oracle, f"{i:02d}") for i in range(30)]
    new = [v["family"] for v in started if v and "tuner/trial_id" not in v]
    assert len(new) == 12
    assert new[:2] == ["good", "poor"]  # every family's first trial before any second
    assert new.count("poor") >= 1 and new.count("good") >= 3 * new.count("poor") - 1


def test_successive_halving_promotes_the_best_third_to_continue_from_its_checkpoint():
    oracle = make_oracle(new_trials=9)
    assert oracle.top_rung() == 2 and oracle.planned_units() == 9 + 3 * 2 + 1 * 6
    trials = []
    for i in range(40):
        values = run(oracle, f"{i:02d}")
        if values is None:
            break
        trials.append((f"{i:02d}", values))
    promotions = [(tid, v) for tid, v in trials if "tuner/trial_id" in v]
    assert [v["tuner/rung"] for _, v in promotions].count(1) == 3
    assert [v["tuner/rung"] for _, v in promotions].count(2) == 1
    assert len(trials) == 9 + 4 and oracle.plan_done()
    # The first promotion comes as soon as a rung has three finished trials, and takes the best.
    first_tid, first = promotions[0]
    assert int(first_tid) == 3
    parent = oracle.trials[first["tuner/trial_id"]]
    best_of_three = max((oracle.trials[f"{i:02d}"] for i in range(3)), key=lambda t: t.score)
    assert parent is best_of_three
    assert first["tuner/initial_epoch"] == parent.best_step + 1 and first["tuner/epochs"] == 2 * 3
    # A rung-2 trial continues where its rung-1 parent's best epoch ended, counted from the chain's start.
    top = next(v for _, v in promotions if v["tuner/rung"] == 2)
    assert top["tuner/initial_epoch"] == oracle.trials[top["tuner/trial_id"]].hyperparameters.values[
        "tuner/epochs"] == 2 * 3
    assert {k: v for k, v in first.items() if not k.startswith("tuner/")} == parent.hyperparameters.values


def test_random_strategy_never_promotes():
    oracle = make_oracle(new_trials=6, promote=False)
    started = [run(oracle, f"{i:02d}") for i in range(10)]
    assert sum(1 for v in started if v) == 6 and not any(v and "tuner/trial_id" in v for v in started if v)
    assert oracle.planned_units() == 6


def test_known_good_first_interleaved_deduplicated_and_filled_with_defaults():
    queued = [{"family": "good", "rate": 0.1}, {"family": "good", "rate": 0.2},
              {"family": "poor", "width": 4}, {"family": "good", "rate": 0.1}]
    oracle = make_oracle(new_trials=5, known_good=queued, promote=False)
    values = [run(oracle, f"{i}") for i in range(4)]
    assert values[0] == {"family": "good", "good/rate": 0.1, "good/dropout": 0.1}
    assert values[1] == {"family": "poor", "poor/width": 4, "poor/dropout": 0.2}
    assert values[2] == {"family": "good", "good/rate": 0.2, "good/dropout": 0.1}
    assert values[3]["family"] in ("good", "poor") and values[3] not in values[:3]  # the repeat is skipped


def test_pinned_values_hold_in_queued_and_drawn_trials_of_every_family():
    oracle = CrossFamilyOracle(["good", "poor"], [{"family": "good", "rate": 0.9}], new_trials=4, deadline=None,
                               epochs=1, epochs_grow=True, promote=False, hyperparameters=space(),
                               pinned={"rate": 0.25, "dropout": 0.3},
                               objective=keras_tuner.Objective("val_score", "max"), seed=1)
    values = [run(oracle, f"{i}") for i in range(4)]
    assert values[0]["good/rate"] == 0.25  # a known-good value does not override a pinned one
    assert all(v[f"{v['family']}/dropout"] == 0.3 for v in values)


def test_no_trial_starts_after_the_deadline():
    oracle = make_oracle(deadline=time.time() - 1)
    assert oracle.populate_space("0")["status"] == TrialStatus.STOPPED


def test_its_state_survives_a_reload():
    oracle = make_oracle(new_trials=9, known_good=[{"family": "poor", "width": 3}, {"family": "good"}])
    for i in range(5):
        run(oracle, f"{i:02d}")
    again = make_oracle(new_trials=9, known_good=[{"family": "poor", "width": 3}, {"family": "good"}])
    again.trials = oracle.trials
    again.set_state(oracle.get_state())
    assert again.queue == oracle.queue and [again.rung(t) for t in again.trials] == [oracle.rung(t) for t in oracle.trials]
    assert again.populate_space("05")["values"] == oracle.populate_space("05")["values"]


def test_a_promoted_trial_continues_from_its_checkpoint(sample_dir, tmp_path, monkeypatch, tiny_registry):
    """End to end: the promoted trial starts from its parent's trained weights, at the epoch after
    the parent's best, not from a fresh model."""
    from automl.config.loader import config_from_mapping
    from automl.hypermodel import TaskHyperModel
    from automl.runtime import choose_runtime
    from automl.search import run_search
    from automl.selector import Candidate, Selection
    from automl.tasks import get_task
    from tests.helpers import sample_arrays

    config = config_from_mapping({"task": "image_classification", "data": {"path": str(tmp_path)}, "seed": 3,
                                  "search": {"epochs": 2, "strategy": "halving", "max_trials": 3,
                                             "hyperparameters": {"mode": "ok", "batch_size": 16}}})
    task = get_task(config.task)
    data = task.load_data(config, arrays=sample_arrays(sample_dir))
    starts = []
    original = TaskHyperModel.fit

    def spy(self, hp, model, *args, **kwargs):
        starts.append((model.get_weights(), kwargs.get("initial_epoch", 0)))
        return original(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(TaskHyperModel, "fit", spy)
    good = [{"learning_rate": 3e-3}, {"learning_rate": 1e-3}, {"learning_rate": 1e-2}]
    selection = Selection([Candidate("tiny", 1.0, ["test"], False, good)], [], pinned=True)
    result = run_search(config, task, data, selection, choose_runtime(config), tmp_path / "run")
    assert [t["rung"] for t in result.trials] == [0, 0, 0, 1]
    promoted = result.trials[3]
    parent_index = [t["trial_id"] for t in result.trials].index(promoted["continues"])
    parent = result.trials[parent_index]
    assert parent["objective"] == max(t["objective"] for t in result.trials[:3])
    assert promoted["hyperparameters"] == parent["hyperparameters"]
    weights, initial_epoch = starts[3]
    assert initial_epoch >= 1
    # Every trial is built from the same seed: a fresh start would equal the parent's start.
    assert any(not np.array_equal(a, b) for a, b in zip(weights, starts[parent_index][0]))
    # In TensorBoard the promoted trial goes on in its parent's run: three runs, not four.
    runs = sorted(p.name for p in (tmp_path / "run" / "tensorboard" / "search").iterdir())
    assert runs == sorted(f"tiny-{t['trial_id'].split('/')[1]}" for t in result.trials[:3])


def leased_oracle(tmp_path, lease_seconds):
    oracle = CrossFamilyOracle(["good", "poor"], [], new_trials=4, deadline=None, epochs=2, epochs_grow=True,
                               hyperparameters=space(), objective=keras_tuner.Objective("val_score", "max"),
                               seed=1, lease_seconds=lease_seconds)
    oracle._set_project_dir(str(tmp_path), "search")  # what a Tuner does with its directory
    return oracle


def finish(oracle, trial, score):
    """What a worker's tuner sends as its trial ends: the metrics, then the end."""
    oracle.update_trial(trial.trial_id, {"val_score": score})
    oracle.end_trial(Trial(hyperparameters=trial.hyperparameters, trial_id=trial.trial_id,
                           status=TrialStatus.COMPLETED))


def test_a_trial_whose_worker_stops_reporting_goes_to_the_next_worker(tmp_path):
    oracle = leased_oracle(tmp_path, lease_seconds=0.2)
    first = oracle.create_trial("worker0")
    second = oracle.create_trial("worker1")
    assert first.trial_id != second.trial_id and oracle.ran_by == {first.trial_id: "worker0",
                                                                   second.trial_id: "worker1"}
    time.sleep(0.3)
    oracle.get_trial(second.trial_id)  # worker1 reports an epoch; worker0 has gone quiet
    taken = oracle.create_trial("worker2")
    assert taken.trial_id == first.trial_id and oracle.ran_by[first.trial_id] == "worker2"
    assert "worker0" not in oracle.tuner_ids, "the chief must not wait for a worker that is gone"
    assert oracle.lease_events == [f"trial {first.trial_id}: worker0 did not report for 0 s; given to worker2"]
    # A worker that keeps reporting keeps its trial.
    assert oracle.create_trial("worker3").trial_id not in (first.trial_id, second.trial_id)


def test_a_worker_back_with_a_finished_trial_does_not_overwrite_it(tmp_path):
    oracle = leased_oracle(tmp_path, lease_seconds=0.1)
    trial = oracle.create_trial("worker0")
    time.sleep(0.2)
    assert oracle.create_trial("worker1").trial_id == trial.trial_id
    finish(oracle, trial, 0.8)  # worker1 finishes it
    finish(oracle, trial, 0.1)  # worker0 comes back
    assert oracle.trials[trial.trial_id].score == 0.8 and oracle.trials[trial.trial_id].status == "COMPLETED"
    assert "a late completed end ignored" in oracle.lease_events[-1]
    assert oracle.get_trial(trial.trial_id).status == "COMPLETED"  # what worker0 hears at its next report


def test_without_leases_a_quiet_trial_stays_with_its_worker(tmp_path):
    oracle = leased_oracle(tmp_path, lease_seconds=None)
    trial = oracle.create_trial("worker0")
    time.sleep(0.05)
    assert oracle.create_trial("worker1").trial_id != trial.trial_id


def test_each_trial_carries_its_share_of_the_time_left_worked_out_where_the_trials_are_known(tmp_path):
    # A worker's tuner knows neither the chief's deadline nor which trials ended: the share
    # travels with the trial it is handed.
    from automl.oracle import SHARE_KEY

    oracle = CrossFamilyOracle(["good", "poor"], [], new_trials=4, deadline=time.time() + 400, epochs=2,
                               epochs_grow=True, promote=False, hyperparameters=space(),
                               objective=keras_tuner.Objective("val_score", "max"), seed=1)
    oracle._set_project_dir(str(tmp_path), "search")
    first = oracle.create_trial("worker0")
    assert 99 <= first.hyperparameters.values[SHARE_KEY] <= 100, "a quarter of 400 s: four trials to come"
    finish(oracle, first, 0.5)
    second = oracle.create_trial("worker1")
    assert 132 <= second.hyperparameters.values[SHARE_KEY] <= 134, "a third of what is left: three to come"
    third = oracle.create_trial("worker0")
    assert 132 <= third.hyperparameters.values[SHARE_KEY] <= 134, "the running second trial is not over yet"
    no_limit = leased_oracle(tmp_path / "no_limit", lease_seconds=None)
    assert SHARE_KEY not in no_limit.create_trial("worker0").hyperparameters.values


def test_no_trial_starts_that_cannot_end_before_the_deadline():
    def next_poor_trial(family_seconds):
        """The status of the next trial, a known-good "poor" one, with 10 s of the search left."""
        oracle = make_oracle(known_good=[{"family": "poor"}], deadline=time.time() + 10)
        oracle.family_seconds = family_seconds
        return oracle.populate_space("t0")["status"]

    assert next_poor_trial({}) == TrialStatus.RUNNING, "nothing timed yet: a trial starts"
    assert next_poor_trial({"good": 4.0}) == TrialStatus.RUNNING, "untried: twice the shortest, 8 s, fits"
    assert next_poor_trial({"good": 6.0}) == TrialStatus.STOPPED, "untried: 12 s does not"
    assert next_poor_trial({"good": 1.0, "poor": 9.0}) == TrialStatus.RUNNING, "its own 9 s fits"
    assert next_poor_trial({"good": 1.0, "poor": 11.0}) == TrialStatus.STOPPED
    assert next_poor_trial({"good": 10.5}) == TrialStatus.STOPPED, "not even the shortest trial fits"


def test_a_plan_done_with_time_left_grows_by_trials_of_the_leading_family():
    def grown(spend, deadline_in, seconds=1.0):
        oracle = CrossFamilyOracle(["good", "poor"], [], new_trials=3, deadline=time.time() + deadline_in, epochs=2,
                                   epochs_grow=True, promote=True, hyperparameters=space(),
                                   objective=keras_tuner.Objective("val_score", "max"), seed=1,
                                   spend_time_left=spend)
        started = []
        for i in range(12):
            values = run(oracle, f"{i:02d}")
            oracle.family_seconds = {"good": seconds, "poor": seconds}
            if values is None:
                break
            started.append(values)
        return oracle, [v["family"] for v in started if "tuner/trial_id" not in v]

    oracle, new = grown(spend=False, deadline_in=600)
    assert len(new) == 3 and oracle.extra_trials == 0, "without spend_time_left the plan is max_trials"
    oracle, new = grown(spend=True, deadline_in=600)
    assert len(new) > 3 and set(new[3:]) == {"good"}, "the extra trials are the leading family's"
    assert oracle.extra_trials >= 3
    oracle, new = grown(spend=True, deadline_in=600, seconds=250.0)
    assert len(new) == 3, "three of the leading family's trials do not fit in the time left: no growth"


def test_the_plan_fits_what_the_first_epoch_costs(tmp_path):
    from automl.oracle import MIN_UNIT_EPOCHS, SHARE_KEY

    def planned(epoch_seconds, new_trials=6, search_seconds=600.0, folder="plan"):
        """The oracle after the first trial's first epoch, the end of that trial's share (None: it stands)."""
        oracle = CrossFamilyOracle(["good", "poor"], [], new_trials=new_trials,
                                   deadline=time.time() + search_seconds, epochs=50, epochs_grow=False,
                                   hyperparameters=space(), objective=keras_tuner.Objective("val_score", "max"),
                                   seed=1)
        oracle._set_project_dir(str(tmp_path), folder)
        trial = oracle.create_trial("tuner0")
        started = time.time()
        return oracle, trial, oracle.fit_plan_to_epoch(trial.trial_id, started, epoch_seconds), started

    # 600 s and 6 trials with their promotions: 10 units of 60 s each.
    oracle, _, ends, _ = planned(epoch_seconds=10.0)
    assert ends is None and oracle.new_trials == 6 and oracle.fitted_trials is None, "6 epochs a unit: it stands"
    oracle, trial, ends, started = planned(epoch_seconds=39.0, folder="dear")
    # 600 / (3 x 39) = 5.1 units: 3 trials and one promotion of 2 units.
    assert MIN_UNIT_EPOCHS == 3 and oracle.new_trials == oracle.fitted_trials == 3 and oracle.planned_trials == 6
    assert oracle.planned_units() == 5 and abs(ends - started - 120.0) < 1.0
    assert abs(trial.hyperparameters.values[SHARE_KEY] - 120.0) < 1.0
    again = CrossFamilyOracle(["good", "poor"], [], new_trials=6, deadline=oracle.deadline, epochs=50,
                              epochs_grow=False, hyperparameters=space(),
                              objective=keras_tuner.Objective("val_score", "max"), seed=1)
    again.trials = oracle.trials
    again.set_state(oracle.get_state())
    assert again.new_trials == 3 and again.first_epoch_seconds == 39.0, "a resumed search keeps the fitted plan"
    assert oracle.fit_plan_to_epoch(trial.trial_id, started, 80.0) is None, "fitted once, at the first epoch"
    oracle, _, ends, started = planned(epoch_seconds=300.0, folder="dearest")
    assert oracle.new_trials == 1 and abs(ends - started - 600.0) < 1.0, "one trial, the known-good one, at least"
