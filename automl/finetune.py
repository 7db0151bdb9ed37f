"""Retrains the best configuration on the whole training part, saving every epoch.

Starts from the best trial's weights when they were saved. A pretrained
backbone first stays frozen while the head trains, then unfreezes at a lower
rate. Early stopping watches validation; the test part is never touched here.

After each epoch the model, its optimizer, the history and the early-stopping
count are written to `<run>/finetune/`, so a rerun of the same command after
an interruption continues after the last finished epoch, and a finished
fine-tuning is loaded, not redone. A different best trial or other fine-tuning
settings start it afresh.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import keras

from automl.families import get_family
from automl.hypermodel import TaskHyperModel
from automl.progress import epoch_callback, say
from automl.training import TrainingDiverged, save_weights, stop_on_nan, tensorboard_callbacks

STATE, BEST, FINAL, START = "state.json", "best.weights.h5", "model.weights.h5", "start.weights.h5"


@dataclass
class FinetuneResult:
    model: object
    history: dict
    epochs_run: int
    seconds: float
    stopped_by_time_limit: bool
    stages: list[str]
    resumed_from_epoch: Optional[int] = None
    #: What `finetune.use_validation` did: {"epochs": n} once retrained, or {"skipped": why}.
    train_and_val: Optional[dict] = None
    #: The final model's validation objective (what a second family is compared on).
    validation: Optional[float] = None
    #: Early stopping ended it (patience, or a cooldown at its floor), not its epochs or the time.
    stopped_early: bool = False

    def to_report(self) -> dict:
        report = {"epochs_run": self.epochs_run, "seconds": round(self.seconds, 1),
                  "stopped_by_time_limit": self.stopped_by_time_limit, "stopped_early": self.stopped_early,
                  "stages": self.stages, "history": self.history}
        if self.train_and_val is not None:
            report["train_and_val"] = self.train_and_val
        if self.validation is not None:
            report["validation"] = round(self.validation, 6)
        if self.resumed_from_epoch is not None:
            report["resumed_from_epoch"] = self.resumed_from_epoch
        return report


#: `finetune.epochs: auto`: the most epochs with a time limit (which, or patience, ends training
#: first), without one, and the epochs a frozen pretrained backbone's head trains alone.
AUTO_EPOCH_CAP, AUTO_EPOCHS_WITHOUT_LIMIT, AUTO_HEAD_EPOCHS = 300, 50, 3
#: With auto epochs under a time limit, patience is at least this share (1/N) of the planned epochs.
PATIENCE_SHARE = 10
#: When patience runs out while the learning rate is still above this share of its peak, the best
#: weights get a cooldown first: the rate falls to its floor over the epochs left.
COOLDOWN_ABOVE_RATE = 0.3
#: ... and while the training loss is at least this share of the validation loss: a model that has
#: learned its training data by heart (text n-grams at loss 0.001 against 1.0) only overfits further.
#: A CNN with augmentation sits near 0.4 (Fashion-MNIST: 0.08 against 0.21 at 60% of its epochs) and
#: gains most while its rate falls: at 0.5 it stopped there, 8 of its 22 minutes unused, at 0.931.
COOLDOWN_MIN_LOSS_RATIO = 0.1


def most_epochs(cfg, time_limit: Optional[float]) -> int:
    """The fine-tuning's epoch count: pinned, or (auto) a cap that patience or the time limit ends."""
    if cfg.epochs != "auto":
        return int(cfg.epochs)
    return AUTO_EPOCH_CAP if time_limit is not None else AUTO_EPOCHS_WITHOUT_LIMIT


def finetune(config, task, data, best: dict, warm_weights: Optional[Path], runtime, folder: Path,
             fingerprint: str, time_limit: Optional[float] = None) -> FinetuneResult:
    """Trains the best configuration to convergence within `time_limit` seconds (what the run's
    `budget.RunBudget` gives this invocation; default `finetune.time_limit`).

    Args:
        warm_weights: the best trial's weights, or None to start from the family's initial weights.
        folder: where the epoch checkpoints live (`<run>/finetune`).
        fingerprint: what the fine-tuning depends on; saved state with another one is discarded.
    """
    limit = config.finetune.time_limit if time_limit is None else time_limit
    # Variables of the model and of every optimizer must live under one strategy.
    with runtime.strategy.scope():
        return _Finetuning(config, task, data, best, warm_weights, folder, fingerprint, limit).run()


#: A second family is fine-tuned only with at least this many seconds left, and at least
#: this share of its estimated epoch on all training examples.
SECOND_MIN_SECONDS, SECOND_MIN_EPOCH_SHARE = 30.0, 0.5


def finetune_second(config, task, data, search, first: FinetuneResult, runtime, folder: Path,
                    fingerprint: str, time_limit: Optional[float] = None) -> Optional[FinetuneResult]:
    """Spends the fine-tuning time the best trial's family left on the search's second choice
    (`trial_choice.second_choice`): a higher-ranked family cut short while still improving, so a
    slow starter is judged on full training, not on its first steps; or, with a run-wide time
    limit, the runner-up when more than UNUSED_SHARE of the run would otherwise go unused.
    Returns its result, or None when there is no second choice or too little time for it."""
    from automl.budget import UNUSED_SHARE

    second = search.second
    limit = config.finetune.time_limit if time_limit is None else time_limit
    if second is None or limit is None:
        return None
    left = limit - first.seconds
    needed = max(SECOND_MIN_SECONDS, SECOND_MIN_EPOCH_SHARE * second.get("epoch_seconds", 0.0))
    runner_up = second.get("reason") == "runner-up"
    if runner_up and config.time_limit is not None:
        needed = max(needed, UNUSED_SHARE * config.time_limit)
    what = "the runner-up" if runner_up else "the second choice"
    if left < needed:
        say("finetune", f"{what} {second['trial_id']} not tried: {left:.0f}s left, it needs {needed:.0f}s")
        return None
    say("finetune", f"{left:.0f}s left: fine-tuning {what} {second['trial_id']} (one epoch on all "
                    f"training examples takes about {second.get('epoch_seconds', 0):.0f}s)")
    return finetune(config, task, data, second, search.second_weights, runtime, folder, fingerprint, left)


def preferred(task, val_examples: int, first: tuple[dict, FinetuneResult],
              second: tuple[dict, FinetuneResult]) -> tuple[tuple[dict, FinetuneResult], str]:
    """Which fine-tuned model to keep: the better on validation, or within the noise of
    validation the one with fewer parameters; and a line saying why."""
    from automl.trial_choice import parsimonious_best

    rows = [{"trial_id": chosen["trial_id"], "objective": tuned.validation, "params": tuned.model.count_params(),
             "seconds": tuned.seconds, "_pair": (chosen, tuned)} for chosen, tuned in (first, second)]
    if any(row["objective"] is None for row in rows):
        return first, "no validation score to compare: the search's best is kept"
    row, note = parsimonious_best(rows, task.goal.direction, val_examples)
    other = rows[1] if row is rows[0] else rows[0]
    why = note or (f"{row['trial_id']} {task.goal.objective}={row['objective']:.4f} beats {other['trial_id']} "
                   f"({other['objective']:.4f}) on validation")
    return row["_pair"], why


class _Finetuning:
    def __init__(self, config, task, data, best, warm_weights, folder: Path, fingerprint: str,
                 time_limit: Optional[float] = None):
        self.cfg, self.task, self.best = config.finetune, task, best
        self.trainer = task.trainer
        self.folder, self.started = folder, time.time()
        self.time_limit = time_limit
        self.deadline = self.started + time_limit if time_limit is not None else None
        self.family = get_family(best["family"])
        self.hp = best["_hp"]
        self.hypermodel = TaskHyperModel(self.family, task, data, pretrained=best["pretrained"],
                                         label=f"fine-tune {best['family']}", seed=config.seed)
        self.model = self.hypermodel.build(self.hp)
        self.cosine = None
        self.tensorboard = tensorboard_callbacks(config, folder.parent, "finetune")
        self.state = self._load_state(fingerprint)
        self.backbone = _find_layer(self.model, self.family.backbone_layer) if best["pretrained"] else None
        if not self.state:
            self.state = self._fresh_state(fingerprint, warm_weights)

    def patience(self) -> int:
        """Epochs without improvement that end training: `finetune.patience`, or with auto epochs
        under a time limit a tenth of the epochs the budget holds if that is more (a long
        cosine schedule improves again once its rate falls)."""
        planned = self.cosine.planned if self.cosine else 0
        if self.cfg.epochs == "auto" and self.deadline is not None:
            return max(self.cfg.patience, planned // PATIENCE_SHARE)
        return self.cfg.patience

    def stopped(self) -> bool:
        """Early stopping has ended the phase: patience ran out, or a cooldown reached its floor."""
        return bool(self.state.get("stopped_early"))

    # -- the saved state ------------------------------------------------------------------

    def _load_state(self, fingerprint: str) -> Optional[dict]:
        import json

        path = self.folder / STATE
        if path.exists():
            state = json.loads(path.read_text())
            if state.get("fingerprint") == fingerprint:
                return state
            say("finetune", f"the best trial or the finetune settings changed: fine-tuning again "
                            f"(the old checkpoints in {self.folder} are replaced)")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        return None

    def _fresh_state(self, fingerprint: str, warm_weights: Optional[Path]) -> dict:
        start, score = self._choose_start(warm_weights)
        save_weights(self.model, self.folder / START)  # where a retraining on train + validation starts
        rate = self.hp.get("learning_rate")
        epochs = most_epochs(self.cfg, self.time_limit)
        phases = []
        if self.backbone is not None and warm_weights is None:
            head = AUTO_HEAD_EPOCHS if self.cfg.epochs == "auto" else max(1, self.cfg.epochs // 4)
            phases.append({"name": "head", "epochs": head, "learning_rate": rate, "frozen": True})
        if self.backbone is not None:
            rate *= self.cfg.unfreeze_learning_rate_factor
        phases.append({"name": "all layers", "epochs": epochs - sum(p["epochs"] for p in phases),
                       "learning_rate": rate, "frozen": False})
        state = {"fingerprint": fingerprint, "phases": [p for p in phases if p["epochs"] > 0], "phase": 0,
                 "epochs_done": 0, "phase_start": 0, "history": {}, "stages": [], "best": None, "wait": 0,
                 "planned": None, "done": False, "start": start}
        if score is not None and len(state["phases"]) == 1:
            # Epoch 0 competes: fine-tuning never ends worse on validation than where it started.
            state.update(best=score, best_epoch=0)
            save_weights(self.model, self.folder / BEST)
        self._save(state, weights=True)
        return state

    def _choose_start(self, warm_weights: Optional[Path]) -> tuple[str, Optional[float]]:
        """Starts from the best trial's weights, unless the model as built scores better on
        validation: a forecaster is built as its linear start (the best baseline rule or a
        least-squares fit), which a short trial can leave behind. Single-phase fine-tuning
        only (a frozen backbone's head starts fresh)."""
        if warm_weights is None:
            return "as built", None
        if self.backbone is not None:
            self.model.load_weights(warm_weights)
            return "best trial", None
        built = self.trainer.validation_scores(self.model, self.hp, self.hypermodel.data).get(self.task.goal.objective)
        self.model.load_weights(warm_weights)
        trial = self.trainer.validation_scores(self.model, self.hp, self.hypermodel.data).get(self.task.goal.objective)
        sign = self.task.goal.sign()
        if built is None or trial is None or sign * (built - trial) >= 0:
            return "best trial", trial
        say("finetune", f"starting from the model as built ({self.task.goal.objective}={built:.4f}), which beats the "
                        f"best trial's weights ({trial:.4f}) on validation")
        self.model = self.hypermodel.build(self.hp)
        return "as built", built

    def _save(self, state: dict, weights: bool, optimizer: bool = False) -> None:
        """Weights first, then the state that names their epoch: a kill between the two redoes one epoch."""
        from automl.run_dir import write_json

        if optimizer:
            self.trainer.save_training_state(self.model, self.folder)
        elif weights:
            save_weights(self.model, self.folder / "last.weights.h5")
            (self.folder / "last.optimizer.npz").unlink(missing_ok=True)
        write_json(self.folder / STATE, state)

    # -- training -------------------------------------------------------------------------

    def run(self) -> FinetuneResult:
        state = self.state
        if state["done"]:
            self.model.load_weights(self.folder / FINAL)
            say("finetune", f"finished in an earlier invocation ({state['epochs_done']} epoch(s)); "
                            f"loading its model from {self.folder}")
            return self._result(resumed_from=state["epochs_done"])
        resumed_from = state["epochs_done"] if state["epochs_done"] or state["phase"] else None
        if resumed_from is not None:
            say("finetune", f"resuming after epoch {resumed_from} from the checkpoint in {self.folder}")
        state["resumed_at"] = resumed_from
        self.model.load_weights(self.folder / "last.weights.h5")
        while state["phase"] < len(state["phases"]) and not self._out_of_time():
            if not self._train_phase(state["phases"][state["phase"]]):
                break
        if state["phase"] == len(state["phases"]):
            if self.cfg.use_validation:
                state["train_and_val"] = self._train_on_train_and_val()
            save_weights(self.model, self.folder / FINAL)
            state["done"] = True
            self._save(state, weights=False)
        elif (self.folder / BEST).exists():
            # Cut short by the time limit: the best epoch so far is the result; a rerun
            # with more time continues from the last epoch, which stays on disk.
            self.model.load_weights(self.folder / BEST)
        return self._result(resumed_from=resumed_from)

    def _train_phase(self, phase: dict) -> bool:
        """Trains one phase from where it stands; False when the time limit cut it short."""
        state = self.state
        if self.backbone is not None:
            self.backbone.trainable = not phase["frozen"]
        self.trainer.compile_model(self.model, self.hp, phase["learning_rate"])
        if state["epochs_done"] > state["phase_start"] and not self.trainer.restore_training_state(
                self.model, self.folder):
            say("finetune", "the saved optimizer state does not fit this model; its moments start afresh")
        end = state["phase_start"] + phase["epochs"]
        keep_best = phase["name"] != "head"
        scheduled = keep_best and self.trainer.schedules_learning_rate
        if state["epochs_done"] == state["phase_start"]:
            say("finetune", f"{phase['name']}: up to {phase['epochs']} epoch(s), lr={phase['learning_rate']:g}"
                            f"{' cosine' if scheduled else '' if keep_best else ', backbone frozen'}")
        self.cosine = BudgetedCosine(phase["learning_rate"], state["phase_start"], phase["epochs"], self.deadline,
                                     planned=state["planned"], cooldown=state.get("cooldown")) if scheduled else None
        callbacks = [*([self.cosine] if self.cosine else []), stop_on_nan(),
                     EpochCheckpoint(self, keep_best), *self.tensorboard,
                     epoch_callback("finetune", phase["name"], end, self.deadline, self.task.report_view.shown_metrics())]
        if state["epochs_done"] < end and not self.stopped():
            try:
                self.trainer.fit(self.model, self.hp, self.hypermodel.data, epochs=end,
                              initial_epoch=state["epochs_done"], callbacks=callbacks)
            except TrainingDiverged as err:
                if not (keep_best and (self.folder / BEST).exists()):
                    raise
                # The best epoch so far is the result, as when patience runs out.
                say("finetune", f"{err}; keeping the best epoch ({state.get('best_epoch')})")
                state["stages"].append(f"stopped: {err}")
                state["stopped_early"] = True
                self._save(state, weights=False)
        if state["epochs_done"] < end and not self.stopped():
            return False
        if keep_best and (self.folder / BEST).exists():
            self.model.load_weights(self.folder / BEST)
        ran = state["epochs_done"] - state["phase_start"]
        cooled = state.get("cooldown")
        cooled = f", cooldown from epoch {cooled['from'] - state['phase_start']}" if cooled else ""
        state["stages"].append(f"{phase['name']} ({ran} epochs, lr={phase['learning_rate']:g}"
                               f"{' cosine decay' if scheduled else ''}{cooled})")
        # What ended the last phase, kept for the report once the next phase's flag starts afresh.
        state["ended_early"] = bool(state.get("stopped_early"))
        state.update(phase=state["phase"] + 1, phase_start=state["epochs_done"], best=None, best_loss=None, wait=0,
                     planned=None, cooldown=None, tail=False, stopped_early=False)
        self._save(state, weights=True)
        (self.folder / BEST).unlink(missing_ok=True)
        return True

    def _train_on_train_and_val(self) -> dict:
        """Trains again from the same start on training + validation data for the epochs that early
        stopping chose, when the time limit leaves room for them; else keeps the model it has."""
        state, phase = self.state, self.state["phases"][-1]
        if len(state["phases"]) > 1:
            return {"skipped": "fine-tuning ran in two phases (a frozen backbone first)"}
        epochs = state.get("best_epoch", state["epochs_done"])
        if epochs == 0:
            return {"skipped": "no epoch beat the starting weights on validation"}
        parts = self.task.examples.count(self.hypermodel.data, "train"), self.task.examples.count(self.hypermodel.data, "val")
        trained_now = max(1, state["epochs_done"] - (state.get("resumed_at") or 0))
        per_epoch = (time.time() - self.started) / trained_now * (sum(parts) / max(parts[0], 1))
        if self.deadline is not None and time.time() + epochs * per_epoch > self.deadline:
            return {"skipped": f"{epochs} epochs on training + validation data need about "
                               f"{epochs * per_epoch:.0f}s, more than the time left"}
        say("finetune", f"training + validation ({sum(parts)} examples): {epochs} epoch(s) from the same start, "
                        f"the count early stopping chose")
        self.model.load_weights(self.folder / START)
        self.trainer.compile_model(self.model, self.hp, phase["learning_rate"])
        schedule = ([BudgetedCosine(phase["learning_rate"], 0, epochs, None)]
                    if self.trainer.schedules_learning_rate else [])
        callbacks = [*schedule, stop_on_nan(),
                     epoch_callback("finetune", "train+val", epochs, None, self.task.report_view.shown_metrics())]
        self.trainer.fit_on_train_and_val(self.model, self.hp, self.hypermodel.data, epochs=epochs, callbacks=callbacks)
        return {"epochs": epochs, "examples": sum(parts)}

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline

    def _result(self, resumed_from) -> FinetuneResult:
        state = self.state
        validation = self.trainer.validation_scores(self.model, self.hp, self.hypermodel.data).get(self.task.goal.objective)
        return FinetuneResult(self.model, state["history"], state["epochs_done"], time.time() - self.started,
                              not state["done"], state["stages"], resumed_from, state.get("train_and_val"),
                              validation, bool(state.get("stopped_early") or state.get("ended_early")))


class EpochCheckpoint(keras.callbacks.Callback):
    """Early stopping that survives a restart: after each epoch, the history, the best value,
    the epochs without improvement, the best weights and the training state go to disk."""

    def __init__(self, run: _Finetuning, keep_best: bool):
        super().__init__()
        self.run, self.keep_best = run, keep_best

    def on_epoch_end(self, epoch, logs=None):
        run, state = self.run, self.run.state
        logs = logs or {}
        if not math.isfinite(logs.get("loss", 0.0)):
            return  # diverged: keep the last good checkpoint; the fit reports the failure
        for key, value in logs.items():
            state["history"].setdefault(key, []).append(float(value))
        value = logs.get(run.task.goal.objective)
        if value is not None and math.isfinite(value):
            sign = run.task.goal.sign()
            # A tie on the objective (a small validation split saturates at 1.0) is broken by the
            # validation loss, so training goes on while the model still grows more certain.
            loss = logs.get("val_loss")
            best_loss = state.get("best_loss")
            tie = (state["best"] is not None and value == state["best"] and loss is not None
                   and math.isfinite(loss) and (best_loss is None or loss < best_loss))
            if state["best"] is None or sign * (value - state["best"]) < 0 or tie:
                state["best"], state["wait"] = float(value), 0
                state["best_epoch"] = epoch + 1 - state["phase_start"]
                state["best_loss"] = float(loss) if loss is not None and math.isfinite(loss) else None
                if self.keep_best:
                    save_weights(self.model, run.folder / BEST)
            else:
                state["wait"] += 1
        state["epochs_done"] = epoch + 1
        state["stopped_early"] = self._stops(epoch, logs)
        if state["stopped_early"]:
            self.model.stop_training = True
        state["planned"] = run.cosine.planned if run.cosine else None
        run._save(state, weights=True, optimizer=True)

    def _stops(self, epoch: int, logs: dict) -> bool:
        """Whether this epoch ends the phase. A cooldown runs until its rate reaches the floor, its
        epochs being what the time limit holds: the falling rate brings its gains late (Fashion-MNIST
        sat 8 epochs within noise, then its end was cut at 0.935 where a full one reached 0.940).
        Patience ends it earlier only once the model overfits."""
        run, state = self.run, self.run.state
        cooldown = state.get("cooldown")
        if cooldown:
            if state["epochs_done"] >= cooldown["from"] + cooldown["epochs"]:
                return True
            return _overfits(logs) and state["wait"] >= run.patience()
        if state["wait"] < run.patience():
            return False
        return not (self._start_cooldown(epoch, logs) or self._in_schedule_tail(logs))

    def _in_schedule_tail(self, logs: dict) -> bool:
        """Patience ran out with the rate already below COOLDOWN_ABOVE_RATE of its peak: the
        schedule's own tail is a cooldown, which runs to its floor at the deadline unless the
        model overfits. (Fashion-MNIST stopped here at epoch 26, 4 of 22 minutes unused, at 0.9375;
        runs that spent their time reached 0.940: validation rose again in the last epochs.)"""
        run, state, cosine = self.run, self.run.state, self.run.cosine
        if (not self.keep_best or run.cfg.epochs != "auto" or cosine is None or cosine.rate is None
                or cosine.rate >= COOLDOWN_ABOVE_RATE * cosine.base_rate or _overfits(logs)):
            return False
        if not state.get("tail"):
            state["tail"] = True
            say("finetune", f"no better on validation for {run.patience()} epochs, with lr={cosine.rate:.3g} "
                            f"already falling: its schedule runs on to the floor")
        return True

    def _start_cooldown(self, epoch: int, logs: dict) -> bool:
        """Validation stopped improving while the rate is still high, where a noisy epoch can
        outscore the trend: rather than stop, go back to the best weights and let the rate fall to
        its floor over the epochs the time limit still holds (`_stops` says when it ends). Once per
        phase, with `epochs: auto` only (pinned epochs and patience stop as asked), and not when
        the model overfits."""
        run, state, cosine = self.run, self.run.state, self.run.cosine
        if (not self.keep_best or run.cfg.epochs != "auto" or cosine is None or cosine.rate is None
                or state.get("cooldown") or not (run.folder / BEST).exists()):
            return False
        left = cosine.planned - (epoch + 1 - cosine.first_epoch)
        if cosine.rate < COOLDOWN_ABOVE_RATE * cosine.base_rate or left < 2 or _overfits(logs):
            return False
        epochs = max(run.patience(), left)
        state["cooldown"] = cosine.cooldown = {"from": epoch + 1, "epochs": epochs, "rate": cosine.rate}
        state["wait"] = 0
        self.model.load_weights(run.folder / BEST)
        say("finetune", f"no better on validation for {run.patience()} epochs at lr={cosine.rate:.3g}: "
                        f"cooling down from the best epoch ({state['best_epoch']}) over up to {epochs} epochs")
        return True


def _overfits(logs: dict) -> bool:
    """Training loss far below validation loss (or either unknown): a lower rate will not help."""
    loss, val_loss = logs.get("loss"), logs.get("val_loss")
    return loss is None or val_loss is None or not loss >= COOLDOWN_MIN_LOSS_RATIO * val_loss


class BudgetedCosine(keras.callbacks.Callback):
    """Cosine learning-rate decay over the epochs that fit the time budget.

    After each epoch it re-estimates how many epochs remain before the
    deadline, so the rate reaches its floor when training really ends,
    not at an epoch the time limit will never let it reach.
    """

    def __init__(self, base_rate: float, first_epoch: int, epochs: int, deadline, floor: float = 0.02,
                 planned: Optional[int] = None, cooldown: Optional[dict] = None):
        super().__init__()
        self.base_rate, self.first_epoch, self.epochs = base_rate, first_epoch, epochs
        self.deadline, self.floor = deadline, floor
        self.planned = planned or epochs
        self.cooldown = cooldown  # {"from": epoch, "epochs": n, "rate": r}: r falls to the floor over n epochs
        self.rate: Optional[float] = None
        self._timing_from = None  # (time, epoch) of the first epoch this invocation trains

    def on_epoch_begin(self, epoch, logs=None):
        if self.cooldown and epoch >= self.cooldown["from"]:
            progress = min(1.0, (epoch - self.cooldown["from"]) / max(self.cooldown["epochs"] - 1, 1))
            self._assign(self.cooldown["rate"], progress)
            return
        done = epoch - self.first_epoch
        now = time.time()
        if self._timing_from is None:
            self._timing_from = (now, epoch)
        elif self.deadline is not None and epoch > self._timing_from[1]:
            per_epoch = (now - self._timing_from[0]) / (epoch - self._timing_from[1])
            fits = done + int(max(0.0, self.deadline - now) // per_epoch)
            self.planned = max(done + 1, min(self.epochs, fits))
        self._assign(self.base_rate, min(1.0, done / max(self.planned - 1, 1)))

    def _assign(self, peak: float, progress: float):
        floor = self.floor * self.base_rate
        self.rate = floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        self.model.optimizer.learning_rate.assign(self.rate)


def _find_layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None
