"""Retrains the best configuration on the whole training part.

Starts from the best trial's weights when they reload. A pretrained backbone
first stays frozen while the head trains, then unfreezes at a lower rate.
Early stopping watches validation; the test part is never touched here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras

from automl.families import get_family
from automl.hypermodel import TaskHyperModel, make_optimizer
from automl.progress import epoch_callback, say


@dataclass
class FinetuneResult:
    model: object
    history: dict
    epochs_run: int
    seconds: float
    stopped_by_time_limit: bool
    stages: list[str]

    def to_report(self) -> dict:
        return {"epochs_run": self.epochs_run, "seconds": round(self.seconds, 1),
                "stopped_by_time_limit": self.stopped_by_time_limit, "stages": self.stages,
                "history": self.history}


def _recompile(model, hp, task, learning_rate):
    model.compile(optimizer=make_optimizer(hp.get("optimizer"), learning_rate),
                  loss=task.loss(hp), metrics=task.metrics())


def _merge(history: dict, new: dict) -> None:
    for key, values in new.items():
        history.setdefault(key, []).extend(float(v) for v in values)


def finetune(config, task, data, best: dict, warm_model, runtime) -> FinetuneResult:
    """Trains the best configuration to convergence within finetune.time_limit."""
    # Variables of the model and of every optimizer must live under one strategy.
    with runtime.strategy.scope():
        return _finetune(config, task, data, best, warm_model)


def _finetune(config, task, data, best: dict, warm_model) -> FinetuneResult:
    cfg = config.finetune
    start = time.time()
    deadline = start + cfg.time_limit if cfg.time_limit else None
    family = get_family(best["family"])
    hp = best["_hp"]
    hypermodel = TaskHyperModel(family, task, data, pretrained=best["pretrained"], deadline=deadline,
                                label=f"fine-tune {best['family']}", seed=config.seed)
    model = hypermodel.build(hp)
    if warm_model is not None:
        model.set_weights(warm_model.get_weights())
    train, val = hypermodel.datasets(hp)
    learning_rate = hp.get("learning_rate")
    history: dict = {}
    stages = []
    epochs_done = 0
    backbone = _find_layer(model, family.backbone_layer) if best["pretrained"] else None

    def fit(epochs: int, stage: str, restore_best: bool, extra=()):
        stop = keras.callbacks.EarlyStopping(monitor=task.objective, mode=task.objective_direction,
                                             patience=cfg.patience, restore_best_weights=restore_best)
        result = model.fit(train, validation_data=val, epochs=epochs_done + epochs, initial_epoch=epochs_done,
                           verbose=0, callbacks=[*extra, stop, keras.callbacks.TerminateOnNaN(),
                                                 epoch_callback("finetune", stage, epochs_done + epochs, deadline,
                                                                task.shown_metrics())])
        _merge(history, result.history)
        return len(result.history.get("loss", []))

    if backbone is not None and warm_model is None:
        head_epochs = max(1, cfg.epochs // 4)
        backbone.trainable = False
        _recompile(model, hp, task, learning_rate)
        say("finetune", f"stage 1: head only, backbone frozen, {head_epochs} epoch(s)")
        epochs_done += fit(head_epochs, "head", restore_best=False)
        stages.append(f"head only ({epochs_done} epochs, lr={learning_rate:g})")
        backbone.trainable = True
        learning_rate *= cfg.unfreeze_learning_rate_factor
    elif backbone is not None:
        learning_rate *= cfg.unfreeze_learning_rate_factor
    remaining = cfg.epochs - epochs_done
    if remaining > 0 and (deadline is None or time.time() < deadline):
        _recompile(model, hp, task, learning_rate)
        say("finetune", f"training all layers for up to {remaining} epoch(s), lr={learning_rate:g} cosine")
        ran = fit(remaining, "all layers", restore_best=True,
                  extra=[BudgetedCosine(learning_rate, epochs_done, remaining, deadline)])
        epochs_done += ran
        stages.append(f"all layers ({ran} epochs, lr={learning_rate:g} cosine decay)")
    stopped = deadline is not None and time.time() >= deadline
    return FinetuneResult(model, history, epochs_done, time.time() - start, stopped, stages)


class BudgetedCosine(keras.callbacks.Callback):
    """Cosine learning-rate decay over the epochs that fit the time budget.

    After each epoch it re-estimates how many epochs remain before the
    deadline, so the rate reaches its floor when training really ends,
    not at an epoch the time limit will never let it reach.
    """

    def __init__(self, base_rate: float, first_epoch: int, epochs: int, deadline, floor: float = 0.02):
        super().__init__()
        self.base_rate, self.first_epoch, self.epochs = base_rate, first_epoch, epochs
        self.deadline, self.floor = deadline, floor
        self.planned = epochs
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        done = epoch - self.first_epoch
        now = time.time()
        if self._started is None:
            self._started = now
        elif self.deadline is not None and done > 0:
            per_epoch = (now - self._started) / done
            fits = done + int(max(0.0, self.deadline - now) // per_epoch)
            self.planned = max(done + 1, min(self.epochs, fits))
        progress = min(1.0, done / max(self.planned - 1, 1))
        rate = self.base_rate * (self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress)))
        self.model.optimizer.learning_rate.assign(rate)


def _find_layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None
