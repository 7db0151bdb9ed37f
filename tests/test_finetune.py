"""Fine-tuning saves every epoch: an interrupted one continues where it stopped, a finished
one is loaded, not redone, and other settings start it afresh."""

import keras_tuner
import pytest

from automl.config.loader import config_from_mapping
from automl.finetune import EpochCheckpoint, finetune
from automl.runtime import choose_runtime
from automl.tasks import get_task
from tests.helpers import sample_arrays


@pytest.fixture
def setup(sample_dir, tmp_path, tiny_registry):
    config = config_from_mapping({"task": "image_classification", "data": {"path": str(tmp_path)}, "seed": 5,
                                  "finetune": {"epochs": 4, "patience": 10}})
    task = get_task(config.task)
    data = task.load_data(config, arrays=sample_arrays(sample_dir))
    best = {"family": "tiny", "pretrained": False, "_hp": keras_tuner.HyperParameters()}
    return config, task, data, best, tmp_path / "finetune"


def fits(monkeypatch, task):
    """Records the first epoch of every fit the task runs."""
    calls = []
    original = type(task.trainer).fit
    monkeypatch.setattr(type(task.trainer), "fit", lambda self, *a, **k: calls.append(k["initial_epoch"])
                        or original(self, *a, **k))
    return calls


def test_an_interrupted_finetuning_continues_after_its_last_epoch(setup, monkeypatch):
    config, task, data, best, folder = setup
    runtime = choose_runtime(config)
    original = EpochCheckpoint.on_epoch_end

    def killed_after_epoch_two(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(EpochCheckpoint, "on_epoch_end", killed_after_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        finetune(config, task, data, best, None, runtime, folder, "print-a")
    monkeypatch.setattr(EpochCheckpoint, "on_epoch_end", original)

    calls = fits(monkeypatch, task)
    resumed = finetune(config, task, data, best, None, runtime, folder, "print-a")
    assert calls == [2]
    assert resumed.resumed_from_epoch == 2 and resumed.epochs_run == 4
    assert len(resumed.history["loss"]) == 4 and len(resumed.history["val_loss"]) == 4
    assert not resumed.stopped_by_time_limit and (folder / "model.weights.h5").exists()

    # Finished: loaded with the weights it ended with, not trained again.
    loaded = finetune(config, task, data, best, None, runtime, folder, "print-a")
    assert calls == [2]
    assert all((a == b).all() for a, b in zip(loaded.model.get_weights(), resumed.model.get_weights()))
    assert loaded.history == resumed.history

    # Other settings (another fingerprint): fine-tuning starts again from its first epoch.
    again = finetune(config, task, data, best, None, runtime, folder, "print-b")
    assert calls == [2, 0] and again.resumed_from_epoch is None and again.epochs_run == 4
    # The optimizer continued too: its step count is that of four epochs, not two.
    assert int(resumed.model.optimizer.iterations) == int(again.model.optimizer.iterations) > 0


def test_early_stopping_keeps_the_best_epoch_and_its_count_survives_a_restart(setup, monkeypatch):
    config, task, data, best, folder = setup
    config = config.model_copy(update={"finetune": config.finetune.model_copy(update={"epochs": 30,
                                                                                       "patience": 2})})
    original = EpochCheckpoint.on_epoch_end
    first_epoch_weights = []

    def make_validation_worse(self, epoch, logs=None):
        logs = {**logs, "val_accuracy": 0.9 - 0.1 * epoch}  # best at epoch 1, then worse
        original(self, epoch, logs)
        if epoch == 0:
            first_epoch_weights.extend(w.copy() for w in self.model.get_weights())

    monkeypatch.setattr(EpochCheckpoint, "on_epoch_end", make_validation_worse)
    result = finetune(config, task, data, best, None, choose_runtime(config), folder, "print-a")
    assert result.epochs_run == 3  # the best epoch, then `patience` epochs without improvement
    assert result.stopped_early  # what the report's time note says ended fine-tuning
    assert result.history["val_accuracy"][:3] == pytest.approx([0.9, 0.8, 0.7])
    assert all((a == b).all() for a, b in zip(result.model.get_weights(), first_epoch_weights))


# Training loss equal to validation's, 0.4 of it (an augmented CNN mid-way), 1/50 of it (memorized),
# and a model that starts to memorize within the cooldown.
@pytest.mark.parametrize("train_loss, cooldown_loss, epochs_run", [
    (0.5, 0.5, 12), (0.2, 0.2, 12), (0.01, 0.01, 3), (0.5, 0.01, 6)])
def test_a_plateau_at_a_high_rate_cools_down_from_the_best_epoch_instead_of_stopping(
        setup, monkeypatch, train_loss, cooldown_loss, epochs_run):
    import automl.finetune as finetune_module

    config, task, data, best, folder = setup
    config = config.model_copy(update={"finetune": config.finetune.model_copy(
        update={"epochs": "auto", "patience": 2, "time_limit": 600})})
    monkeypatch.setattr(finetune_module, "AUTO_EPOCH_CAP", 12)  # the budget "holds" 12 epochs
    # A noisy early best, then a climb with a plateau inside the cooldown longer than twice patience.
    scores = [0.9, 0.8, 0.7, 0.91, 0.90, 0.90, 0.90, 0.90, 0.90, 0.92, 0.93, 0.94]
    original = EpochCheckpoint.on_epoch_end
    rates, weights_at = [], {}

    def scripted(self, epoch, logs=None):
        rates.append(float(self.model.optimizer.learning_rate))
        weights_at[epoch] = [w.copy() for w in self.model.get_weights()]
        loss = train_loss if epoch < 3 else cooldown_loss
        original(self, epoch, {**logs, "val_accuracy": scores[epoch], "loss": loss, "val_loss": 0.5})

    monkeypatch.setattr(EpochCheckpoint, "on_epoch_end", scripted)
    result = finetune(config, task, data, best, None, choose_runtime(config), folder, "print-a")
    assert result.epochs_run == epochs_run, result.history["val_accuracy"]
    if train_loss < 0.1 * 0.5:  # training loss 50 times below validation: overfitting, which a lower rate does not cure
        assert not any("cooldown" in stage for stage in result.stages)
        assert all((a == b).all() for a, b in zip(result.model.get_weights(), weights_at[0]))
        return
    # Patience ran out after epoch 3 with the rate still high: a cooldown over the 9 epochs left
    # follows instead of a stop.
    assert any("cooldown from epoch 3" in stage for stage in result.stages), result.stages
    assert rates[3] < rates[0]
    if cooldown_loss < 0.1 * 0.5:  # it memorizes within the cooldown: patience ends it, best weights kept
        assert all((a == b).all() for a, b in zip(result.model.get_weights(), weights_at[3]))
        return
    # It runs through the plateau (the model does not overfit) and ends when the rate reaches its floor.
    cooling = rates[3:12]
    assert cooling == sorted(cooling, reverse=True) and cooling[-1] == pytest.approx(0.02 * rates[0])
    # The result is the best epoch's model: the last of the cooldown.
    assert all((a == b).all() for a, b in zip(result.model.get_weights(), weights_at[11]))


# Not overfitting (training loss 0.4 of validation's), and memorized (1/50 of it).
@pytest.mark.parametrize("train_loss, epochs_run", [(0.2, 12), (0.01, 9)])
def test_a_late_plateau_lets_the_falling_rate_run_to_its_floor(setup, monkeypatch, train_loss, epochs_run):
    import automl.finetune as finetune_module

    config, task, data, best, folder = setup
    config = config.model_copy(update={"finetune": config.finetune.model_copy(
        update={"epochs": "auto", "patience": 2, "time_limit": 600})})
    monkeypatch.setattr(finetune_module, "AUTO_EPOCH_CAP", 12)
    # A steady climb, a plateau once the rate is below 30% of its peak (epochs 8-11), and a
    # last gain at the floor.
    scores = [0.80, 0.84, 0.86, 0.88, 0.90, 0.91, 0.92, 0.915, 0.91, 0.915, 0.91, 0.93]
    original = EpochCheckpoint.on_epoch_end
    rates, weights_at = [], {}

    def scripted(self, epoch, logs=None):
        rates.append(float(self.model.optimizer.learning_rate))
        weights_at[epoch] = [w.copy() for w in self.model.get_weights()]
        original(self, epoch, {**logs, "val_accuracy": scores[epoch], "loss": train_loss, "val_loss": 0.5})

    monkeypatch.setattr(EpochCheckpoint, "on_epoch_end", scripted)
    result = finetune(config, task, data, best, None, choose_runtime(config), folder, "print-t")
    assert result.epochs_run == epochs_run, result.history["val_accuracy"]
    assert rates[8] < 0.3 * rates[0] and not any("cooldown" in stage for stage in result.stages)
    kept = 11 if epochs_run == 12 else 6  # the best epoch: the last one, or the plateau's start
    assert all((a == b).all() for a, b in zip(result.model.get_weights(), weights_at[kept]))


def test_use_validation_trains_again_on_both_parts_for_the_chosen_epochs(setup, monkeypatch):
    config, task, data, best, folder = setup
    config = config.model_copy(update={"finetune": config.finetune.model_copy(update={"use_validation": True})})
    seen = []
    original = type(task.trainer).fit_on_train_and_val

    def recorded(self, model, hp, data_, *, epochs, callbacks=()):
        history = original(self, model, hp, data_, epochs=epochs, callbacks=callbacks)
        seen.append((epochs, len(history.history["loss"])))
        return history

    monkeypatch.setattr(type(task.trainer), "fit_on_train_and_val", recorded)
    result = finetune(config, task, data, best, None, choose_runtime(config), folder, "print-v")
    best_epoch = 1 + max(range(4), key=lambda i: (result.history["val_accuracy"][i], -result.history["val_loss"][i]))
    sizes = len(data.part("train")) + len(data.part("val"))
    assert result.train_and_val == {"epochs": best_epoch, "examples": sizes}
    assert seen == [(best_epoch, best_epoch)]
    assert result.to_report()["train_and_val"]["epochs"] == best_epoch


def test_finetuning_starts_as_built_when_that_beats_the_trial_and_never_ends_worse(tmp_path):
    """A forecaster is built as its best baseline rule; a trial that wandered off it must not be
    where fine-tuning starts, and no epoch that is worse on validation may be kept."""
    import json

    import numpy as np

    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.search import pinned_hyperparameters
    from tests.conftest import CO2

    if CO2 is None:
        pytest.skip("needs pip install --no-deps statsmodels")
    config = config_from_mapping({"task": "time_series_forecasting", "seed": 1,
                                  "data": {"path": str(CO2), "time_column": "date", "horizon": 52, "season": 52},
                                  "finetune": {"epochs": 2, "patience": 5}})
    task = get_task(config.task)
    data = task.load_data(config)
    hp = pinned_hyperparameters({"lookback": 104, "filters": 16})
    hypermodel = TaskHyperModel(get_family("tcn"), task, data, seed=config.seed)
    model = hypermodel.build(hp)
    rule_mae = task.trainer.validation_scores(model, hp, data)["val_mae"]
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    warm = tmp_path / "trial.weights.h5"
    model.save_weights(warm)
    best = {"family": "tcn", "pretrained": False, "_hp": hp}
    result = finetune(config, task, data, best, warm, choose_runtime(config), tmp_path / "finetune", "print-s")
    state = json.loads((tmp_path / "finetune" / "state.json").read_text())
    assert state["start"] == "as built"
    assert task.trainer.validation_scores(result.model, hp, data)["val_mae"] <= rule_mae + 1e-6


def test_the_time_the_best_leaves_goes_to_the_second_choice(setup):
    from types import SimpleNamespace

    from automl.finetune import finetune_second

    config, task, data, best, folder = setup
    config = config.model_copy(update={"finetune": config.finetune.model_copy(update={"time_limit": 600.0})})
    runtime = choose_runtime(config)
    first = finetune(config, task, data, {**best, "trial_id": "tiny/0"}, None, runtime, folder, "print-a")
    assert first.validation is not None and 0.0 <= first.validation <= 1.0
    search = SimpleNamespace(second={**best, "trial_id": "tiny/7", "epoch_seconds": 1.0}, second_weights=None)
    second = finetune_second(config, task, data, search, first, runtime, folder.parent / "second", "print-b")
    assert second is not None and second.epochs_run == 4 and second.validation is not None
    # Less time left than half an epoch of the second choice (or 30 s): not tried.
    slow = SimpleNamespace(second={**search.second, "epoch_seconds": 2 * 600.0}, second_weights=None)
    assert finetune_second(config, task, data, slow, first, runtime, folder.parent / "slow", "print-c") is None


def test_the_better_fine_tuned_model_is_kept_and_a_tie_goes_to_the_smaller():
    from types import SimpleNamespace

    from automl.finetune import preferred

    task = get_task("text_classification")

    def tuned(validation, params):
        return SimpleNamespace(validation=validation, seconds=10.0,
                               model=SimpleNamespace(count_params=lambda: params))

    bag, bert = {"trial_id": "bag/0"}, {"trial_id": "bert/1"}
    (chosen, _), why = preferred(task, 1280, (bag, tuned(0.765, 10**6)), (bert, tuned(0.810, 2 * 10**7)))
    assert chosen is bert and "beats bag/0" in why
    (chosen, _), why = preferred(task, 1280, (bag, tuned(0.765, 10**6)), (bert, tuned(0.770, 2 * 10**7)))
    assert chosen is bag  # within one standard error (0.012 on 1,280 examples): the smaller model
