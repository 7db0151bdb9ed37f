"""How a run-wide time_limit is shared between the stages, and trial samples per family."""

import numpy as np

from automl.config.loader import config_from_mapping
from automl.families import get_family
from automl.pipeline import (EXPORT_SECONDS, RESERVE_LEAST, RESERVE_MOST, RESERVE_MOST_SHARE, RESERVE_SHARE,
                             SEARCH_SHARE, TEST_PASSES, _test_pass_seconds, _within_run_budget,
                             reserve_after_finetuning)
from automl.run_dir import Recorder
from automl.search import SEARCH_SAMPLE, _trial_sample
from automl.tasks import get_task
from tests.helpers import sample_arrays


def config(**raw):
    return config_from_mapping({"task": "image_classification", "data": {"path": "."}, **raw})


def recorder(tmp_path, elapsed=0.0, **spent):
    """A run `elapsed` seconds into its stages, whose earlier invocations spent `spent` per stage."""
    rec = Recorder(tmp_path, {"timings": {"search": elapsed}})
    rec.book = {stage: {"seconds": seconds} for stage, seconds in spent.items()}
    return rec


def test_run_time_limit_bounds_search_and_leaves_a_reserve_after_finetuning(tmp_path):
    cfg = config(time_limit="40m")
    assert cfg.time_limit == 2400
    assert _within_run_budget(cfg, "search", recorder(tmp_path)).search.time_limit == SEARCH_SHARE * 2400
    finetune = _within_run_budget(cfg, "finetune", recorder(tmp_path, 900)).finetune.time_limit
    assert finetune == 2400 - RESERVE_MOST - 900, "a long run keeps minutes, not a fifth, for export"
    short = _within_run_budget(config(time_limit="3m"), "finetune", recorder(tmp_path, 60)).finetune.time_limit
    assert short == (1 - RESERVE_SHARE) * 180 - 60
    assert cfg.search.time_limit is None, "the user's config is not changed"


def test_a_timed_test_pass_sizes_the_reserve_after_finetuning(tmp_path):
    # Fashion-MNIST's small CNN (2.7 s a pass) keeps about a minute, not 3; MiniLM (50 s a pass) more.
    assert reserve_after_finetuning(1800, 2.7) == EXPORT_SECONDS + TEST_PASSES * 2.7
    assert reserve_after_finetuning(1800, 50.0) == EXPORT_SECONDS + TEST_PASSES * 50.0 > RESERVE_MOST
    assert reserve_after_finetuning(1800, 0.0) == RESERVE_LEAST
    assert reserve_after_finetuning(300, 50.0) == RESERVE_MOST_SHARE * 300, "fine-tuning keeps half a short run"
    cfg = config(time_limit="30m")
    rec = recorder(tmp_path, 320)
    timed = _within_run_budget(cfg, "finetune", rec, test_pass_seconds=2.7).finetune.time_limit
    assert timed == 1800 - 320 - reserve_after_finetuning(1800, 2.7)
    assert rec.report["time_limits"]["after_finetuning"] == round(reserve_after_finetuning(1800, 2.7), 1)
    assert _within_run_budget(cfg, "finetune", rec).finetune.time_limit == 1800 - 320 - RESERVE_MOST


def test_the_test_pass_is_timed_with_the_best_configuration(sample_dir, tmp_path, tiny_registry):
    from automl.runtime import choose_runtime
    from automl.search import pinned_hyperparameters

    cfg = config_from_mapping({"task": "image_classification", "data": {"path": str(tmp_path)}, "time_limit": "5m"})
    task = get_task(cfg.task)
    data = task.load_data(cfg, arrays=sample_arrays(sample_dir))
    best = {"family": "tiny", "_hp": pinned_hyperparameters({"mode": "ok", "batch_size": 16}), "pretrained": False}
    seconds = _test_pass_seconds(cfg, task, data, best, choose_runtime(cfg))
    assert 0 < seconds < 30
    untimed = cfg.model_copy(update={"time_limit": None})
    assert _test_pass_seconds(untimed, task, data, best, choose_runtime(cfg)) is None


def test_a_smaller_stage_limit_wins_and_no_limit_changes_nothing(tmp_path):
    cfg = config(time_limit="40m", search={"time_limit": "5m"})
    assert _within_run_budget(cfg, "search", recorder(tmp_path)).search.time_limit == 300
    plain = config()
    assert _within_run_budget(plain, "finetune", recorder(tmp_path, 5000)) is plain


def test_an_overrun_still_leaves_fine_tuning_a_minute(tmp_path):
    cfg = config(time_limit="10m")
    assert _within_run_budget(cfg, "finetune", recorder(tmp_path, 900)).finetune.time_limit == 60


def test_time_spent_in_earlier_invocations_comes_off_the_stage_limit(tmp_path):
    cfg = config(search={"time_limit": "5m"}, finetune={"time_limit": "10m"})
    assert _within_run_budget(cfg, "search", recorder(tmp_path, search=120)).search.time_limit == 180
    assert _within_run_budget(cfg, "finetune", recorder(tmp_path, finetune=600)).finetune.time_limit < 1
    assert _within_run_budget(cfg, "finetune", recorder(tmp_path)) is cfg


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


def test_trial_samples_shrink_for_slow_families():
    labels = np.repeat([0, 1], 15_000)
    part = type("Part", (), {"labels": labels, "__len__": lambda self: len(labels)})()
    data = type("Data", (), {"train": part, "part": lambda self, name: part})()
    task = get_task("text_classification")
    search = config().search
    assert len(_trial_sample(search, get_family("bert"), task, data, 0)) == get_family("bert").info.search_examples
    assert len(_trial_sample(search, get_family("bilstm"), task, data, 0)) == SEARCH_SAMPLE
    pinned = config(search={"max_train_examples": 40_000}).search
    assert _trial_sample(pinned, get_family("bert"), task, data, 0) is None


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

    assert most_epochs(config(finetune={"time_limit": "5m"}).finetune) == AUTO_EPOCH_CAP
    assert most_epochs(config().finetune) == AUTO_EPOCHS_WITHOUT_LIMIT
    assert most_epochs(config(finetune={"epochs": 7}).finetune) == 7
    assert trial_epochs(config(search={"time_limit": "5m"}).search) == AUTO_TRIAL_EPOCH_CAP
    assert trial_epochs(config().search) == AUTO_TRIAL_EPOCHS
    assert trial_epochs(config(search={"epochs": 4, "time_limit": "5m"}).search) == 4


def test_the_objective_against_time_keeps_the_best_so_far():
    from automl.search import objective_by_time

    trials = [{"seconds": 10, "objective": 0.5}, {"seconds": 5, "objective": None},
              {"seconds": 20, "objective": 0.4}, {"seconds": 5, "objective": 0.7}]
    assert objective_by_time(trials, "max") == [[10, 0.5], [15, 0.5], [35, 0.5], [40, 0.7]]
    assert objective_by_time(trials, "min")[-1] == [40, 0.4]
