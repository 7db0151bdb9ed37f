import copy

import numpy as np
import pytest

from automl.config.loader import config_from_mapping
from automl.runtime import choose_runtime
from automl.search import SearchError, run_search
from automl.selector import Candidate, Selection
from automl.tasks import get_task
from tests.helpers import TinyFamily, sample_arrays


def setup(sample_dir, tmp_path, **search):
    config = config_from_mapping({"task": "image_classification", "data": {"path": str(tmp_path)},
                                  "search": {"epochs": 1, "strategy": "random", **search}, "seed": 3})
    task = get_task(config.task)
    data = task.load_data(config, arrays=sample_arrays(sample_dir))
    return config, task, data


def selection(known_good=None):
    candidate = Candidate("tiny", 1.0, ["test"], False,
                          TinyFamily().known_good({}) if known_good is None else known_good)
    return Selection([candidate], [], pinned=True)


def test_failed_trials_are_recorded_and_the_search_goes_on(sample_dir, tmp_path, tiny_registry):
    config, task, data = setup(sample_dir, tmp_path, max_trials=3)
    result = run_search(config, task, data, selection(), choose_runtime(config), tmp_path / "run")
    statuses = [t["status"] for t in result.trials]
    assert statuses == ["failed", "failed", "completed"]
    assert "cannot be built" in result.trials[0]["error"]
    assert result.trials[1]["hyperparameters"]["mode"] == "nan"
    assert result.best["hyperparameters"]["mode"] == "ok"
    assert result.best["hyperparameters"]["learning_rate"] == 3e-3  # the known-good value
    assert all(t["seconds"] is not None for t in result.trials)
    assert result.best_weights is not None and result.best_weights.exists()
    # TensorBoard: the completed trial's epochs and its hyperparameters (KerasTuner's HParams logs).
    logs = list((tmp_path / "run" / "tensorboard" / "search").rglob("events.out.tfevents*"))
    assert logs and any(b"learning_rate" in path.read_bytes() for path in logs)
    # Runs named by family and trial; the search's bookkeeping (a trial's time share) is no hyperparameter.
    runs = {path.relative_to(tmp_path / "run" / "tensorboard" / "search").parts[0] for path in logs}
    assert runs and all(run.startswith("tiny-") for run in runs), runs
    assert not any(b"tuner/" in path.read_bytes() for path in logs)


def test_rerun_resumes_instead_of_starting_over(sample_dir, tmp_path, tiny_registry, monkeypatch):
    from automl.hypermodel import TaskHyperModel

    config, task, data = setup(sample_dir, tmp_path, max_trials=2, hyperparameters={"mode": "ok"})
    good = [{"mode": "ok"}]
    first = run_search(config, task, data, selection(good), choose_runtime(config), tmp_path / "run")
    fits = []
    original = TaskHyperModel.fit
    monkeypatch.setattr(TaskHyperModel, "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    again = run_search(config, task, data, selection(good), choose_runtime(config), tmp_path / "run")
    assert fits == []  # nothing trained again
    assert [t["trial_id"] for t in again.trials] == [t["trial_id"] for t in first.trials]
    assert [t["objective"] for t in again.trials] == [t["objective"] for t in first.trials]
    # A larger budget trains only the trials the first run did not.
    more = run_search(config.model_copy(update={"search": config.search.model_copy(update={"max_trials": 3})}),
                      task, data, selection(good), choose_runtime(config), tmp_path / "run")
    assert len(fits) == 1 and len(more.trials) == 3


def test_time_limit_stops_the_search(sample_dir, tmp_path, tiny_registry):
    config, task, data = setup(sample_dir, tmp_path, max_trials=50, epochs=200, time_limit=4)
    result = run_search(config, task, data, selection([{"mode": "ok"}]), choose_runtime(config), tmp_path / "run")
    assert result.stopped_by_time_limit
    assert len(result.trials) < 50
    assert result.seconds < 60


def test_all_trials_failing_is_an_error_with_the_first_traceback(sample_dir, tmp_path, tiny_registry):
    config, task, data = setup(sample_dir, tmp_path, max_trials=1)
    with pytest.raises(SearchError, match=r"all 1 search trial\(s\) failed; the first with: .*cannot be built") as err:
        run_search(config, task, data, selection([{"mode": "crash"}]), choose_runtime(config), tmp_path / "run")
    assert "\n" not in str(err.value)  # one line on the terminal; the traceback goes to report.json
    assert "Traceback" in err.value.detail and "cannot be built" in err.value.detail


def test_pinned_values_that_cannot_build_name_the_family(sample_dir, tmp_path, tiny_registry):
    config, task, data = setup(sample_dir, tmp_path, max_trials=1, hyperparameters={"mode": "crash"})
    with pytest.raises(SearchError, match="family tiny: no model can be built"):
        run_search(config, task, data, selection([]), choose_runtime(config), tmp_path / "run")


def test_pinned_hyperparameter_with_a_typo_is_named(sample_dir, tmp_path, tiny_registry):
    config, task, data = setup(sample_dir, tmp_path, max_trials=1, hyperparameters={"learning_rat": 0.1})
    with pytest.raises(ValueError, match="Did you mean 'learning_rate'"):
        run_search(config, task, data, selection([]), choose_runtime(config), tmp_path / "run")


def test_each_trial_keeps_its_objective_after_every_epoch(sample_dir, tmp_path, tiny_registry):
    # KerasTuner keeps only a trial's best epoch; comparing trials at equal time needs them all.
    config, task, data = setup(sample_dir, tmp_path, max_trials=1, epochs=3, hyperparameters={"mode": "ok"})
    result = run_search(config, task, data, selection([{"mode": "ok"}]), choose_runtime(config), tmp_path / "run")
    trial = result.trials[0]
    assert len(trial["history"]) == 3 and all(0.0 <= v <= 1.0 for v in trial["history"])
    assert trial["objective"] == pytest.approx(max(trial["history"]))


def test_a_smaller_model_that_ties_within_the_validation_noise_wins():
    from automl.trial_choice import parsimonious_best

    done = [{"trial_id": "a/0", "objective": 0.950, "params": 300_000, "seconds": 20},
            {"trial_id": "b/0", "objective": 0.945, "params": 20_000, "seconds": 5},
            {"trial_id": "b/1", "objective": 0.900, "params": 5_000, "seconds": 4}]
    best, note = parsimonious_best(done, "max", val_examples=360)  # one standard error: 0.0115
    assert best["trial_id"] == "b/0" and "ties a/0" in note
    best, note = parsimonious_best(done, "max", val_examples=100_000)  # 0.0007: no tie
    assert best["trial_id"] == "a/0" and note is None
    errors = [{"trial_id": "x", "objective": 0.100, "params": 9, "seconds": 1},
              {"trial_id": "y", "objective": 0.1005, "params": 3, "seconds": 1}]
    assert parsimonious_best(errors, "min", 50)[0]["trial_id"] == "y"  # within 1% of the best error


def _trial_row(trial_id, rung, scores, seconds, continues=None, known_good=False, params=308_650):
    """A done row as `_search` builds it, with `scores` after each of the trial's own epochs."""
    return {"trial_id": trial_id, "rung": rung, "continues": continues, "objective": max(scores), "params": params,
            "seconds": seconds, "known_good": known_good, "history": scores}


def fm11_trials():
    """Full Fashion-MNIST, run fm11 (val accuracy on 5,000 images, seconds per trial): the known-good
    configuration (batch 128) and a random one (batch 32, 1.4x the seconds per epoch) were promoted."""
    return [_trial_row("0000", 0, [0.8344, 0.8500], 30.1, known_good=True),
            _trial_row("0004", 0, [0.8242, 0.8566], 42.0),
            _trial_row("0003", 1, [0.8780, 0.8698, 0.8796], 43.0, continues="0000", known_good=True),
            _trial_row("0007", 1, [0.8736, 0.8812, 0.8904], 61.0, continues="0004")]


def test_trials_are_compared_at_equal_training_time():
    from automl.trial_choice import compare_at_matched_time, parsimonious_best

    done = fm11_trials()
    assert parsimonious_best(done, "max", 5000)[0]["trial_id"] == "0007"  # by epochs no faster trial had time for
    cap = compare_at_matched_time(done, "max")
    assert cap == pytest.approx(5 * (30.1 / 2 + 43.0 / 3) / 2)  # 0003's five epochs
    assert done[3]["compared"] == pytest.approx(0.8736)  # 0007 after 3 epochs, at 62 of 103 seconds
    assert "compared" not in done[2]
    best, note = parsimonious_best(done, "max", 5000)
    assert best["trial_id"] == "0003" and note is None
    # A lead within the same time still wins.
    done = fm11_trials()
    done[3] = _trial_row("0007", 1, [0.8896, 0.8812, 0.8904], 61.0, continues="0004")
    compare_at_matched_time(done, "max")
    assert parsimonious_best(done, "max", 5000)[0]["trial_id"] == "0007"


def test_within_the_noise_a_known_good_configuration_is_kept():
    from automl.trial_choice import parsimonious_best

    done = [_trial_row("a", 1, [0.8780], 20, known_good=True), _trial_row("b", 1, [0.8812], 20)]
    best, note = parsimonious_best(done, "max", 5000)  # one standard error: 0.0046
    assert best["trial_id"] == "a" and "known-good configuration is kept" in note
    assert parsimonious_best(done, "max", 100_000)[0]["trial_id"] == "b"


def test_a_trial_cut_short_does_not_cut_the_others():
    from automl.trial_choice import compare_at_matched_time

    done = [_trial_row("a", 0, [0.5], 10), _trial_row("b", 0, [0.5, 0.6, 0.7], 30),
            _trial_row("c", 0, [0.5, 0.6, 0.65], 30)]
    assert compare_at_matched_time(done, "max") is None  # b and c both trained 30 s
    assert all("compared" not in r for r in done)
    alone = [_trial_row("a", 0, [0.5, 0.6], 20), _trial_row("b", 1, [0.7, 0.8], 20, continues="a")]
    assert compare_at_matched_time(alone, "max") is None  # one trial on the top rung


def test_a_model_over_max_model_mb_fails_its_trial_before_training(sample_dir, tmp_path, tiny_registry):
    config, task, data = setup(sample_dir, tmp_path, max_trials=1)
    config = config.model_copy(update={"constraints": config.constraints.model_copy(update={"max_model_mb": 1e-4})})
    with pytest.raises(SearchError, match=r"MB, over constraints.max_model_mb=0.0001"):
        run_search(config, task, data, selection(known_good=[{"mode": "ok"}]), choose_runtime(config),
                   tmp_path / "run")
    roomy = config.model_copy(update={"constraints": config.constraints.model_copy(update={"max_model_mb": 1.0})})
    result = run_search(roomy, task, data, selection(known_good=[{"mode": "ok"}]), choose_runtime(roomy),
                        tmp_path / "run2")
    assert result.trials[0]["status"] == "completed" and 0 < result.trials[0]["params"] < 250_000


def _row(family, trial_id, scores, seconds=10.0):
    """A completed trial row as `_trial_rows` makes it, with its per-epoch validation scores."""
    return {"trial_id": f"{family}/{trial_id}", "family": family, "objective": max(scores), "seconds": seconds,
            "history": scores}


def test_a_higher_ranked_family_cut_short_while_improving_is_the_second_choice():
    from automl.trial_choice import second_choice

    best = _row("bag", "0", [0.70, 0.76, 0.75])
    slow = _row("bert", "1", [0.71], seconds=66.0)      # one epoch: no sign it had converged
    lstm = _row("bilstm", "2", [0.73, 0.75])
    ranked = ["bert", "bilstm", "bag"]
    chosen = second_choice([best, slow, lstm], best, ranked, "max")
    assert chosen["trial_id"] == "bert/1" and chosen["_epoch_seconds"] == 66.0
    converged = _row("bert", "1", [0.71, 0.74, 0.72])    # peaked before its last epoch
    assert second_choice([best, converged, lstm], best, ranked, "max")["trial_id"] == "bilstm/2"
    # A family the selector ranks below the winner is not tried again, however it ended.
    assert second_choice([best, slow], best, ["bag", "bert"], "max") is None


def test_the_second_choice_ranks_families_by_the_selector_score_not_the_candidate_order():
    # Text puts the fast bag of n-grams first so the search starts with it; BERT still ranks above it.
    selection = Selection([Candidate("bag_of_ngrams", 2.5, []), Candidate("bert", 4.0, []),
                           Candidate("bilstm", 3.0, [])], [], False)
    assert selection.families_by_score() == ["bert", "bilstm", "bag_of_ngrams"]


def _out_of_memory_above(monkeypatch, task, largest: int) -> list:
    """Makes the task's training run out of memory at batch sizes above `largest`; returns the
    batch sizes tried."""
    import tensorflow as tf

    original, tried = type(task.trainer).fit, []

    def fit(self, model, hp, data, **kwargs):
        tried.append(hp.get("batch_size"))
        if hp.get("batch_size") > largest:
            raise tf.errors.ResourceExhaustedError(None, None, f"OOM when allocating tensor with shape[{tried[-1]},14,14,4]")
        return original(self, model, hp, data, **kwargs)

    monkeypatch.setattr(type(task.trainer), "fit", fit)
    return tried


def test_a_trial_out_of_memory_trains_once_more_at_half_the_batch(sample_dir, tmp_path, tiny_registry, monkeypatch):
    config, task, data = setup(sample_dir, tmp_path, max_trials=1, hyperparameters={"mode": "ok", "batch_size": 32})
    tried = _out_of_memory_above(monkeypatch, task, 16)
    result = run_search(config, task, data, selection([{"mode": "ok"}]), choose_runtime(config), tmp_path / "run")
    assert tried == [32, 16]
    assert result.trials[0]["status"] == "completed" and result.best["hyperparameters"]["batch_size"] == 16


def test_a_trial_out_of_memory_twice_fails_with_both_batch_sizes(sample_dir, tmp_path, tiny_registry, monkeypatch):
    config, task, data = setup(sample_dir, tmp_path, max_trials=2, hyperparameters={"batch_size": 32})
    tried = _out_of_memory_above(monkeypatch, task, 8)
    with pytest.raises(SearchError, match=r"out of memory at batch size 32 and again at 16: OOM when allocating"):
        run_search(config, task, data, selection([{"mode": "ok"}]), choose_runtime(config), tmp_path / "run")
    assert tried[:2] == [32, 16]


def test_each_epoch_is_reported_and_a_trial_the_oracle_ended_stops(sample_dir, tmp_path, tiny_registry):
    """The lease's report (a worker training a trial says so at every epoch), and what a worker
    hears when another finished its trial meanwhile: stop."""
    import keras
    from keras_tuner.engine.trial import TrialStatus

    from automl.lease import ReportEachEpoch

    class Oracle:
        def __init__(self):
            self.asked, self.status = [], TrialStatus.RUNNING

        def get_trial(self, trial_id):
            self.asked.append(trial_id)
            return type("Trial", (), {"status": self.status})()

    oracle = Oracle()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((8, 2), "float32")
    callback = copy.deepcopy(ReportEachEpoch(oracle, "03"))  # KerasTuner copies a trial's callbacks
    model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[callback])
    assert oracle.asked == ["03", "03", "03"]
    oracle.status = TrialStatus.COMPLETED
    history = model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[callback])
    assert len(history.history["loss"]) == 1


def test_a_worker_keeps_its_lease_between_epochs():
    # A first epoch that traces the step (30 s on a loaded machine) or any long epoch must not
    # outlast the lease: the trial went to another worker while its own was still training it.
    import time

    from keras_tuner.engine.trial import TrialStatus

    from automl.lease import keep_lease

    class Oracle:
        def __init__(self):
            self.asked, self.status = 0, TrialStatus.RUNNING

        def get_trial(self, trial_id):
            self.asked += 1
            return type("Trial", (), {"status": self.status})()

    oracle = Oracle()
    with keep_lease(oracle, "03", every=0.05):
        time.sleep(0.5)
    assert oracle.asked >= 5, "reported while the trial trained"
    asked = oracle.asked
    time.sleep(0.2)
    assert oracle.asked <= asked + 1, "and not once the trial is over"
    ended = Oracle()
    ended.status = TrialStatus.COMPLETED
    with keep_lease(ended, "03", every=0.05):
        time.sleep(0.3)
    assert ended.asked == 1, "a trial another worker finished is not reported again"
    with keep_lease(oracle, "03", every=None):  # one process: the epochs report
        pass


def test_a_finished_trial_leaves_no_traced_graph_behind(sample_dir, tmp_path, tiny_registry, monkeypatch):
    # TensorFlow's global gradient table keeps every traced training step (and its model's
    # variables) unless the search lets go of it: memory grew about 25 MB per quickstart trial.
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    from automl.tuner import SearchTuner

    graphs_after_each_trial = []
    on_trial_end = SearchTuner.on_trial_end

    def counting(self, trial):
        on_trial_end(self, trial)
        gc.collect()
        graphs_after_each_trial.append(sum(isinstance(o, FuncGraph) for o in gc.get_objects()))

    monkeypatch.setattr(SearchTuner, "on_trial_end", counting)
    config, task, data = setup(sample_dir, tmp_path, max_trials=4)
    run_search(config, task, data, selection(), choose_runtime(config), tmp_path / "run")
    assert len(graphs_after_each_trial) == 4
    assert graphs_after_each_trial[-1] <= graphs_after_each_trial[0], graphs_after_each_trial


def test_a_trial_cut_off_mid_way_continues_after_its_last_kept_epoch(sample_dir, tmp_path, tiny_registry,
                                                                      monkeypatch):
    # KerasTuner keeps only a trial's best epoch; a kill (or a worker gone quiet) must not cost the others.
    from automl import hypermodel

    config, task, data = setup(sample_dir, tmp_path, max_trials=1, epochs=3, hyperparameters={"mode": "ok"})
    keep, trained = hypermodel.KeepEachEpoch.on_epoch_end, []

    def killed_after_the_second_epoch(self, epoch, logs=None):
        keep(self, epoch, logs)
        trained.append(epoch)
        if len(trained) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(hypermodel.KeepEachEpoch, "on_epoch_end", killed_after_the_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_search(config, task, data, selection([{"mode": "ok"}]), choose_runtime(config), tmp_path / "run")
    result = run_search(config, task, data, selection([{"mode": "ok"}]), choose_runtime(config), tmp_path / "run")
    assert trained == [0, 1, 2]
    trial = result.trials[0]
    assert len(trial["history"]) == 3 and trial["objective"] == pytest.approx(max(trial["history"]))
    assert not list((tmp_path / "run").rglob("progress.json")) and not list((tmp_path / "run").rglob("last.*"))


def test_a_known_good_configuration_outranks_a_smaller_model_that_ties():
    """Full Fashion-MNIST, the run at 94571c3: parsimony kept the 114k-parameter random trial,
    which fine-tuned to 0.934; short trials say nothing about the long run, the known-good one does."""
    from automl.trial_choice import parsimonious_best

    done = [_trial_row("0003", 1, [0.8776], 39.0, known_good=True),
            _trial_row("0007", 1, [0.8730], 62.6, params=114_218)]
    assert parsimonious_best(done, "max", 5000) == (done[0], None)
    smaller_known_good = [_trial_row("0003", 1, [0.8776], 39.0), _trial_row("0007", 1, [0.8730], 62.6,
                                                                             known_good=True, params=114_218)]
    best, note = parsimonious_best(smaller_known_good, "max", 5000)
    assert best["trial_id"] == "0007" and "known-good configuration is kept" in note
    neither = [dict(row, known_good=False) for row in done]
    best, note = parsimonious_best(neither, "max", 5000)
    assert best["trial_id"] == "0007" and "the smaller model is kept" in note


def test_with_time_to_spend_the_runner_up_is_the_second_choice():
    from automl.trial_choice import second_choice

    best = _row("tcn", "0", [0.50, 0.40, 0.45])
    other = _row("tcn", "1", [0.60, 0.55, 0.58])
    lstm = _row("lstm", "2", [0.70, 0.62, 0.65])
    ranked = ["tcn", "lstm"]
    assert second_choice([best, other, lstm], best, ranked, "min") is None, "no time to spend: no runner-up"
    chosen = second_choice([best, other, lstm], best, ranked, "min", runner_up=True)
    assert chosen["trial_id"] == "lstm/2" and chosen["_reason"] == "runner-up", "another family first"
    chosen = second_choice([best, other], best, ranked, "min", runner_up=True)
    assert chosen["trial_id"] == "tcn/1" and chosen["_epoch_seconds"] == 10.0 / 3, "else the best's next trial"
