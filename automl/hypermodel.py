"""One family under one task, as a KerasTuner HyperModel.

The task's trainer builds and trains the model (`Task.trainer`: `build_model`, `fit`); this
class only adds what the search needs around that: the seed, the trial's
slice of the data, progress lines and the deadline.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable, Optional

import keras
import keras_tuner

from automl.progress import epoch_callback, say


class TaskHyperModel(keras_tuner.HyperModel):
    """Builds and trains one candidate; the family never sees the head or loss.

    Args:
        family: a `Family`.
        task: a `Task`.
        data: the task's loaded data.
        pretrained: start the backbone from pretrained weights.
        train_indices: optional subset of the training part for search trials.
        val_indices: optional subset of the validation part.
        deadline: `time.time()` after which training stops.
        label: how progress lines name this candidate.
        max_model_mb: a trial whose float32 weights are larger fails before training
            (`constraints.max_model_mb`), so the search spends nothing on it.
        seed: when given, every build starts from this random state, so a trial (or the
            fine-tuning) starts and trains the same way whatever ran before it, resumed or not.
    """

    def __init__(self, family, task, data, *, pretrained=False, train_indices=None,
                 val_indices=None, deadline: Optional[float] = None, label: str = "",
                 seed: Optional[int] = None, max_model_mb: Optional[float] = None):
        super().__init__(name=family.info.name)
        self.family, self.task = family, task
        self.pretrained = pretrained
        # The data as this family sees it (for text: encoded by its tokenizer).
        self.data = task.examples.for_family(data, family, pretrained)
        self.train_indices, self.val_indices = train_indices, val_indices
        self.deadline = deadline
        #: When the running trial's share of the search budget ends (set as each trial starts).
        self.trial_deadline: Optional[float] = None
        #: Given the trial's first epoch's seconds, a new end of its share, or None (`StopBeforeShareEnds`).
        self.replan: Optional[Callable[[float], Optional[float]]] = None
        self.label = label or family.info.name
        self.seed = seed
        self.max_model_mb = max_model_mb
        #: Parameters of the model the last trial trained (the search keeps them per trial).
        self.last_params: Optional[int] = None

    def build(self, hp):
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        self.family.input_space(hp, self.data)
        return self.task.trainer.build_model(hp, self.family, self.data, pretrained=self.pretrained)

    def fit(self, hp, model, *args, epochs=1, callbacks=None, initial_epoch=0, **kwargs):
        self.last_params = int(model.count_params())
        megabytes = self.last_params * 4 / 1e6
        if self.max_model_mb is not None and megabytes > self.max_model_mb:
            raise keras_tuner.errors.FailedTrialError(
                f"its float32 model is {megabytes:.2f} MB, over constraints.max_model_mb={self.max_model_mb}")
        from automl.training import stop_on_nan

        callbacks = [*(callbacks or []), stop_on_nan(),
                     epoch_callback("search", self.label, epochs, self.deadline, self.task.report_view.shown_metrics()),
                     StopBeforeShareEnds(self.trial_deadline, self.replan)]
        if self.trial_deadline is not None:
            # A trial that stopped improving hands the rest of its share to the trials after it
            # (KerasTuner keeps its best epoch).
            earlier = next((c.history for c in callbacks if isinstance(c, KeepEachEpoch)), {})
            callbacks.append(TrialEarlyStopping(earlier.get(self.task.goal.objective, []), monitor=self.task.goal.objective,
                                                patience=TRIAL_PATIENCE, mode=self.task.goal.direction))
        def train():
            return self.task.trainer.fit(model, hp, self.data, epochs=epochs, initial_epoch=initial_epoch,
                                 callbacks=callbacks, train_indices=self.train_indices, val_indices=self.val_indices)

        import tensorflow as tf

        try:
            return train()
        except tf.errors.ResourceExhaustedError as err:
            # Once more at half the batch (the trial's values say so); a second failure fails the trial.
            key = next((k for k in (f"{self.label}/batch_size", "batch_size") if k in hp.values), None)
            batch = hp.values.get(key) if key else None
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            if not batch or batch < 2:
                raise keras_tuner.errors.FailedTrialError(f"out of memory: {first}") from err
            say("search", f"out of memory at batch size {batch}; once more at {batch // 2}")
            hp.values[key] = batch // 2
            try:
                return train()
            except tf.errors.ResourceExhaustedError as again:
                raise keras_tuner.errors.FailedTrialError(
                    f"out of memory at batch size {batch} and again at {batch // 2}: {first}") from again


#: Epochs without a better validation objective that end a trial under a time limit.
TRIAL_PATIENCE = 4


class TrialEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping whose patience spans a trial cut off and continued (`KeepEachEpoch`): the
    epochs before the cut count, as if it had not been cut."""

    def __init__(self, earlier: list[float], **kwargs):
        super().__init__(**kwargs)
        self.earlier = list(earlier)  # a copy: the kept history grows as this run's epochs end

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for epoch, value in enumerate(self.earlier):
            self.on_epoch_end(epoch, {self.monitor: value})


class StopBeforeShareEnds(keras.callbacks.Callback):
    """Ends a trial after the last epoch that fits in its share of the search budget.

    The epochs a trial gets then follow from its own measured epoch time: a
    model that trains an epoch in a second gets many, a slow one few, and
    the search's time limit is spent rather than left over. At least one
    epoch always runs.
    """

    def __init__(self, share_ends: Optional[float], replan: Optional[Callable[[float], Optional[float]]] = None):
        super().__init__()
        self.share_ends = share_ends
        #: Asked once, with the first epoch's seconds, for a new end of the share (the oracle's
        #: plan fitted to what an epoch costs); None keeps it.
        self.replan = replan
        self._last_end = None

    def on_train_begin(self, logs=None):
        self._last_end, self._first = time.time(), True

    def on_epoch_end(self, epoch, logs=None):
        if self.share_ends is None:
            return
        # The last epoch's time, not the mean: the first one also traces the graph, which can
        # take longer than the epochs after it; it says little, so a second epoch runs
        # whenever the share has time left after it.
        now = time.time()
        if self._first and self.replan is not None:
            self.share_ends = self.replan(now - self._last_end) or self.share_ends
        per_epoch, self._last_end = (0.0 if self._first else now - self._last_end), now
        self._first = False
        if now + per_epoch > self.share_ends:
            self.model.stop_training = True


class FamiliesHyperModel(keras_tuner.HyperModel):
    """Every selected family as one HyperModel: a `family` choice, and each family's
    hyperparameters in its conditional scope (so one oracle searches them all).

    Each family's names are scoped too (`small_cnn/learning_rate`): KerasTuner keeps one
    value per name, and drops it when any declaration of that name is inactive, so two
    families may not share one (they all declare the task's learning_rate).

    A trial that continues another (`tuner/trial_id`, set by the oracle) starts from
    `start_weights`, which the tuner loads from that trial's checkpoint, and trains from
    `tuner/initial_epoch` to `tuner/epochs`.
    """

    def __init__(self, hypermodels: dict[str, TaskHyperModel]):
        super().__init__(name="families")
        self.hypermodels = hypermodels
        self.start_weights: Optional[list] = None
        #: The family being built (errors while KerasTuner learns the space name it).
        self.building: Optional[str] = None
        #: When the running trial's share of the search budget ends (set as each trial starts).
        self.trial_deadline: Optional[float] = None
        #: Given the trial's first epoch's seconds, a new end of its share, or None (`StopBeforeShareEnds`).
        self.replan: Optional[Callable[[float], Optional[float]]] = None
        #: Where the running trial's TensorBoard logs go (None: no logs), and its id.
        self.tensorboard_dir: Optional[str] = None
        self.trial_id: Optional[str] = None
        #: The running trial's folder, where its last finished epoch is kept (None: not kept).
        self.progress_dir: Optional[Path] = None
        #: Called after each epoch is kept (a Ray trial copies its folder to the cluster's storage).
        self.epoch_kept: Optional[Callable[[], None]] = None

    def build(self, hp):
        chosen = hp.Choice("family", list(self.hypermodels))
        model = None
        for name, hypermodel in self.hypermodels.items():
            # Entering every scope tells KerasTuner each family's hyperparameters exist.
            with hp.conditional_scope("family", [name]), hp.name_scope(name):
                if name == chosen:
                    self.building = name
                    model = hypermodel.build(hp)
        if self.start_weights is not None:
            model.set_weights(self.start_weights)
        return model

    def fit(self, hp, model, *args, epochs=1, callbacks=None, **kwargs):
        hypermodel = self.of(hp)
        if self.tensorboard_dir:
            callbacks = [*(callbacks or []), *self._tensorboard(hp)]
        hypermodel.trial_deadline, hypermodel.replan = self.trial_deadline, self.replan
        epochs = hp.values.get("tuner/epochs", epochs)
        initial_epoch = hp.values.get("tuner/initial_epoch", 0)
        keep = None
        if self.progress_dir is not None:
            # After KerasTuner's best-epoch checkpoint in the list: what is kept names an epoch
            # whose best weights are already saved.
            keep = KeepEachEpoch(hypermodel.task, self.progress_dir, _best_epoch_checkpoint(callbacks),
                                 then=self.epoch_kept)
            initial_epoch = keep.resume(model, initial_epoch)
            callbacks = [*(callbacks or []), keep]
        with hp.name_scope(hp.get("family")):
            result = hypermodel.fit(hp, model, *args, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                                    **kwargs)
        if keep is not None and isinstance(getattr(result, "history", None), dict):
            result.history = keep.history  # the epochs before a kill too: the trial's best may be among them
        return result

    def _tensorboard(self, hp) -> list:
        """The trial's epochs and its active hyperparameters (TensorBoard's HParams view).

        Written here rather than by KerasTuner, which logs every registered hyperparameter and
        fails when two families both declare one (learning_rate)."""
        from tensorboard.plugins.hparams import api as hparams_api

        from automl.oracle import family_values
        from automl.training import async_safe

        # The family and its own values: no bookkeeping (a trial's time share, its parent trial).
        values = {"family": hp.values.get("family"), **{k: v for k, v in family_values(hp.values).items()
                                                      if isinstance(v, (bool, int, float, str))}}
        run = Path(self.tensorboard_dir).name
        return [async_safe(keras.callbacks.TensorBoard(log_dir=self.tensorboard_dir, write_graph=False,
                                                       update_freq="epoch", profile_batch=0)),
                hparams_api.KerasCallback(writer=self.tensorboard_dir, hparams=values, trial_id=run)]

    def of(self, hp) -> TaskHyperModel:
        """The hypermodel of the family a trial's values chose."""
        return self.hypermodels[hp.get("family")]


#: In a trial's folder: the epochs it finished, their logs and the best objective so far, beside
#: the task's training state (`last.weights.h5`, optimizer) after the last of them.
PROGRESS = "progress.json"


class KeepEachEpoch(keras.callbacks.Callback):
    """Keeps a trial's last finished epoch, so that a trial cut off (the process killed, or its
    worker gone quiet and the trial handed to another) continues after it instead of training
    again from its first epoch (KerasTuner keeps only the best epoch's weights).

    Weights and optimizer first, then `progress.json` naming their epoch: a kill between the two
    trains one epoch again, never skips one."""

    def __init__(self, task, folder: Path, best_checkpoint=None, then: Optional[Callable[[], None]] = None):
        super().__init__()
        self.task, self.folder, self.best_checkpoint, self.then = task, Path(folder), best_checkpoint, then
        self.history: dict[str, list] = {}

    def resume(self, model, initial_epoch: int) -> int:
        """Loads what an earlier run of this trial kept into `model` (built and compiled) and
        returns the epoch to start from: `initial_epoch` when nothing was kept."""
        path = self.folder / PROGRESS
        if not path.exists():
            return initial_epoch
        kept = json.loads(path.read_text())
        try:
            self.task.trainer.restore_training_state(model, self.folder)
        except (OSError, ValueError) as err:  # weights of another shape: start the trial again
            say("search", f"cannot continue from {self.folder} ({err}); the trial starts again")
            self.history = {}
            return initial_epoch
        self.history = kept["history"]
        if self.best_checkpoint is not None and kept.get("best") is not None:
            self.best_checkpoint.best_value = kept["best"]
        say("search", f"continuing after epoch {kept['epochs_done']} (kept in {self.folder})")
        return kept["epochs_done"]

    def on_epoch_end(self, epoch, logs=None):
        from automl.run_dir import write_json

        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.task.trainer.save_training_state(self.model, self.folder)
        best = getattr(self.best_checkpoint, "best_value", None)
        write_json(self.folder / PROGRESS, {"epochs_done": epoch + 1, "history": self.history,
                                            "best": best if best is not None and math.isfinite(best) else None})
        if self.then is not None:
            self.then()


def forget_progress(folder: Path) -> None:
    """Removes what `KeepEachEpoch` kept once its trial has ended (its best epoch stays)."""
    for path in Path(folder).glob("last.*"):
        path.unlink(missing_ok=True)
    (Path(folder) / PROGRESS).unlink(missing_ok=True)


def _best_epoch_checkpoint(callbacks):
    """KerasTuner's callback saving a trial's best epoch (it keeps the best value so far)."""
    return next((c for c in callbacks or [] if type(c).__name__ == "SaveBestEpoch"), None)
