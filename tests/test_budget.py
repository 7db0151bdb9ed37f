"""How a run-wide time_limit is shared between the stages, and trial samples per family."""

import re

import numpy as np

from automl.config.loader import config_from_mapping
from automl.families import get_family
from automl.budget import (RESERVE_MOST, RESERVE_MOST_SHARE, RESERVE_SHARE, SEARCH_SHARE, ModelTiming, RunBudget,
                           measured_reserve)
from automl.run_dir import Recorder
from automl.search import SEARCH_SAMPLE, trial_sample
from automl.tasks import get_task
from tests.helpers import sample_arrays, sample_folder


def config(**raw):
    return config_from_mapping({"task": "image_classification", "data": {"path": "."}, **raw})


def recorder(tmp_path, **spent):
    """A run whose earlier invocations spent `spent` per stage."""
    rec = Recorder(tmp_path, {"timings": {}})
    rec.book = {stage: {"seconds": seconds} for stage, seconds in spent.items()}
    return rec


def budget(cfg, tmp_path, elapsed=0.0, reserve=None, **spent):
    """A run's budget `elapsed` seconds into this invocation, whose earlier invocations spent `spent`."""
    import time

    rec = recorder(tmp_path, **spent)
    run = RunBudget(cfg, rec, started=time.time() - elapsed)
    run.keep_reserve(reserve)
    return run


def test_run_time_limit_bounds_search_and_leaves_a_reserve_after_finetuning(tmp_path):
    cfg = config(time_limit="40m")
    assert cfg.time_limit == 2400
    assert budget(cfg, tmp_path).stage_limit("search") == SEARCH_SHARE * 2400
    finetune = budget(cfg, tmp_path, elapsed=900).stage_limit("finetune")
    assert abs(finetune - (2400 - RESERVE_MOST - 900)) < 1, "a long run keeps minutes, not a fifth, for export"
    short = budget(config(time_limit="3m"), tmp_path, elapsed=60).stage_limit("finetune")
    assert abs(short - ((1 - RESERVE_SHARE) * 180 - 60)) < 1
    assert cfg.search.time_limit is None and cfg.finetune.time_limit is None, "the user's config is not changed"


def test_a_short_run_gets_shares_not_minute_floors(tmp_path):
    # A 40-second run: the search its share, fine-tuning what is left but the measured reserve.
    cfg = config(time_limit="40s")
    assert budget(cfg, tmp_path).stage_limit("search") == SEARCH_SHARE * 40
    assert abs(budget(cfg, tmp_path, elapsed=20, reserve=8.0).stage_limit("finetune") - 12) < 0.5
    assert budget(cfg, tmp_path, elapsed=45, reserve=8.0).stage_limit("finetune") == 0.0, "an overrun leaves nothing"


def test_a_measured_reserve_follows_the_files_and_test_passes(tmp_path):
    export = config(time_limit="30m").export  # float32, float16, dynamic, int8: int8 calibrates first
    small_cnn = ModelTiming(0.2, 0.0004, 150, conversion_seconds=1.44)  # the quickstart's, measured
    small = measured_reserve(small_cnn, export)
    assert 5 < small < 15, "a small CNN keeps seconds, not a minute (its export took 4.3 s)"
    slow = ModelTiming(1.0, 0.02, 2562, conversion_seconds=20.0)  # MiniLM: a 50-second test pass
    assert measured_reserve(slow, export) > small + 7 * slow.test_pass_seconds, "every pass is counted"
    compressed = config(time_limit="30m", export={"compression": "prune_qat"}).export
    assert measured_reserve(small_cnn, compressed) > small + 30, "a tfmot worker is a process of its own"
    short = budget(config(time_limit="5m"), tmp_path, reserve=1000)
    assert short.reserve == RESERVE_MOST_SHARE * 300, "fine-tuning keeps half a short run"


def test_the_model_timing_measures_passes_and_a_conversion(sample_dir, tmp_path, tiny_registry):
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.search import pinned_hyperparameters

    cfg = config_from_mapping({"task": "image_classification", "data": {"path": str(tmp_path)}, "time_limit": "5m"})
    task = get_task(cfg.task)
    data = task.load_data(cfg, arrays=sample_arrays(sample_dir))
    hp = pinned_hyperparameters({"mode": "ok", "batch_size": 16})
    hypermodel = TaskHyperModel(get_family("tiny"), task, data)
    timing = ModelTiming.measure(hypermodel.build(hp), task, hypermodel.data, hp)
    assert 0 < timing.test_pass_seconds < 30 and 0 < timing.conversion_seconds < 60
    assert timing.epoch_seconds(1000) > timing.epoch_seconds(10) > 0


def test_a_smaller_stage_limit_wins_and_no_limit_is_none(tmp_path):
    cfg = config(time_limit="40m", search={"time_limit": "5m"})
    assert budget(cfg, tmp_path).stage_limit("search") == 300
    assert budget(config(), tmp_path, elapsed=5000).stage_limit("finetune") is None


def test_time_spent_in_earlier_invocations_comes_off_the_stage_limit(tmp_path):
    cfg = config(search={"time_limit": "5m"}, finetune={"time_limit": "10m"})
    assert budget(cfg, tmp_path, search=120).stage_limit("search") == 180
    assert budget(cfg, tmp_path, finetune=600).stage_limit("finetune") == 0.0
    run = config(time_limit="10m")
    assert abs(budget(run, tmp_path, search=100, finetune=200).left() - 300) < 1, "earlier work counts in the run"


def test_a_time_limit_too_short_for_one_epoch_is_refused_before_training(sample_dir, tmp_path):

    import pytest

    from automl.errors import ConfigError
    from automl.pipeline import run_pipeline

    folder = sample_folder(sample_dir, tmp_path / "images", 20)
    cfg = config_from_mapping({"task": "image_classification", "data": {"path": str(folder)}, "time_limit": "3s",
                               "search": {"families": ["small_cnn"]}})
    with pytest.raises(ConfigError, match=r"time_limit: 0m03s is too short .* Received: time_limit=3; set time_limit: \d+s or more"):
        run_pipeline(cfg, out_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "search").exists(), "nothing trained"


def test_stage_seconds_add_up_over_invocations_of_the_same_work(tmp_path):
    first = Recorder(tmp_path, {"timings": {}})
    with first.stage("search", "print-a"):
        pass
    first.book["search"]["seconds"] = 100.0  # as if the first invocation had searched 100 s
    first.write_book()
    again = Recorder(tmp_path, {"timings": {}})
    assert again.spent("search") == 100.0
    with again.stage("search", "print-a"):
        pass
    assert 100.0 <= again.report["timings"]["search"] < 101
    other = Recorder(tmp_path, {"timings": {}})
    with other.stage("search", "print-b"):  # other data or settings: the count starts again
        pass
    assert other.report["timings"]["search"] < 1


def testtrial_samples_shrink_for_slow_families():
    labels = np.repeat([0, 1], 15_000)
    part = type("Part", (), {"labels": labels, "__len__": lambda self: len(labels)})()
    data = type("Data", (), {"train": part, "part": lambda self, name: part})()
    task = get_task("text_classification")
    search = config().search
    assert len(trial_sample(search, get_family("bert"), task, data, 0)) == get_family("bert").info.search_examples
    assert len(trial_sample(search, get_family("bilstm"), task, data, 0)) == SEARCH_SAMPLE
    pinned = config(search={"max_train_examples": 40_000}).search
    assert trial_sample(pinned, get_family("bert"), task, data, 0) is None


def test_a_trial_trains_as_many_epochs_as_fit_in_its_share():
    import time

    import keras

    from automl.hypermodel import StopBeforeShareEnds

    x = np.random.default_rng(0).normal(size=(2000, 16)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    started = time.time()
    history = model.fit(x, y, epochs=10_000, verbose=0, callbacks=[StopBeforeShareEnds(started + 3.0)])
    elapsed = time.time() - started
    epochs = len(history.history["loss"])
    assert 3 <= epochs < 10_000 and elapsed <= 3.0 + 1.0
    unbounded = model.fit(x, y, epochs=2, verbose=0, callbacks=[StopBeforeShareEnds(None)])
    assert len(unbounded.history["loss"]) == 2


def test_a_continued_trial_counts_the_epochs_before_its_cut_towards_patience():
    import keras

    from automl.hypermodel import TrialEarlyStopping

    def stopped_after(earlier, value):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.stop_training = False
        stopping = TrialEarlyStopping(earlier, monitor="val_accuracy", patience=4, mode="max")
        stopping.set_model(model)
        stopping.on_train_begin()
        stopping.on_epoch_end(len(earlier), {"val_accuracy": value})
        return model.stop_training

    # Best at the second epoch, three epochs without better before the cut: the fourth after it stops.
    assert stopped_after([0.5, 0.6, 0.55, 0.55, 0.55], 0.58)
    assert not stopped_after([0.5, 0.6, 0.55, 0.55, 0.55], 0.61), "a better epoch goes on"
    assert not stopped_after([], 0.58), "a trial not cut off starts counting at its first epoch"


def test_auto_epochs_are_bounded_by_the_time_limit_or_a_cap():
    from automl.finetune import AUTO_EPOCH_CAP, AUTO_EPOCHS_WITHOUT_LIMIT, most_epochs
    from automl.search import AUTO_TRIAL_EPOCH_CAP, AUTO_TRIAL_EPOCHS, trial_epochs

    assert most_epochs(config().finetune, 300.0) == AUTO_EPOCH_CAP
    assert most_epochs(config().finetune, None) == AUTO_EPOCHS_WITHOUT_LIMIT
    assert most_epochs(config(finetune={"epochs": 7}).finetune, 300.0) == 7
    assert trial_epochs(config().search, 300.0) == AUTO_TRIAL_EPOCH_CAP
    assert trial_epochs(config().search, None) == AUTO_TRIAL_EPOCHS
    assert trial_epochs(config(search={"epochs": 4}).search, 300.0) == 4


def test_the_objective_against_time_keeps_the_best_so_far():
    from automl.trial_choice import objective_by_time

    trials = [{"seconds": 10, "objective": 0.5}, {"seconds": 5, "objective": None},
              {"seconds": 20, "objective": 0.4}, {"seconds": 5, "objective": 0.7}]
    assert objective_by_time(trials, "max") == [[10, 0.5], [15, 0.5], [35, 0.5], [40, 0.7]]
    assert objective_by_time(trials, "min")[-1] == [40, 0.4]


def test_time_left_unused_is_said_with_why(tmp_path):
    report = {"search": {"trials": [{}, {}, {}], "stopped_by_time_limit": False},
              "finetune": {"epochs_run": 25, "stopped_by_time_limit": False}}
    note = budget(config(time_limit="2m"), tmp_path, elapsed=85).unused_note(report)
    assert re.match(r"0m3[45]s of the run's 2m00s left unused", note)
    assert "3 trial(s); search.max_trials" in note and "after 25 epoch(s): all the epochs finetune.epochs" in note
    report["finetune"]["stopped_early"] = True  # patience, not the epochs, ended it: the note says which
    note = budget(config(time_limit="2m"), tmp_path, elapsed=85).unused_note(report)
    assert "after 25 epoch(s): validation stopped improving (finetune.patience)" in note
    assert budget(config(time_limit="2m"), tmp_path, elapsed=115).unused_note(report) is None, "spent: nothing said"
    assert budget(config(), tmp_path, elapsed=5).unused_note(report) is None
