"""The training engine: how a task's models are built, compiled, trained and checkpointed.

`Trainer` is supervised training on the task's `train_dataset`, the default every task gets from
`Task.trainer`; search (`hypermodel.py`) and fine-tuning (`finetune.py`) only call it. A task that
trains otherwise (several networks and optimizers, its own train_step, its own objective values)
hands over a subclass, as image generation does (`tasks/image_generation/trainer.py`).
"""

from __future__ import annotations

from typing import Optional


def global_batch(hp) -> int:
    """The trial's batch size is each replica's: under MirroredStrategy a step takes that many
    examples per device (the learning rate scales with it: `training.scaled_for_replicas`)."""
    from automl.training import replicas

    return int(hp.get("batch_size")) * replicas()


class Trainer:
    """Supervised training of one task's models.

    Args:
        task: the `Task` whose head, loss, metrics and datasets are trained.
    """

    #: Fine-tuning decays the learning rate (cosine over the budget, with a cooldown); a GAN's
    #: two rates stay as searched.
    schedules_learning_rate: bool = True
    #: Training runs under MirroredStrategy (several GPUs) and mixed precision; an engine with its
    #: own train_step may not (keras#20164; gradients applied without loss scaling).
    data_parallel: bool = True
    mixed_precision: bool = True
    #: `runtime.mixed_precision: auto` trains in bfloat16 on CPUs with AMX tiles: on for the tasks
    #: whose models were measured faster that way (a detector's step 0.34 s -> 0.25 s).
    bfloat16_on_cpu: bool = False

    def __init__(self, task):
        self.task = task

    def build_model(self, hp, family, data, pretrained=False):
        """The trainable model for a family and hyperparameters, compiled and ready for `fit`."""
        import keras

        from automl.precision import apply_training_policy

        apply_training_policy()
        inputs = self.task.model_inputs(hp, data)
        backbone = lambda x: family.build(hp, x, pretrained=pretrained)  # noqa: E731
        outputs = self.task.model_outputs(hp, inputs, backbone, data)
        model = keras.Model(inputs, outputs, name=family.info.name)
        self.register_training_space(hp)
        self.compile_model(model, hp)
        return model

    def register_training_space(self, hp) -> None:
        """The training choices every search tunes, then the task's own."""
        from automl.training import BATCH_SIZES, OPTIMIZERS

        hp.Choice("batch_size", BATCH_SIZES, default=64)
        self.task.register_search_space(hp)
        hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        hp.Choice("optimizer", OPTIMIZERS, default="adam")

    def compile_model(self, model, hp, learning_rate: Optional[float] = None) -> None:
        """(Re)compiles with the searched optimizer; fine-tuning passes its own learning rate."""
        from automl.training import make_optimizer

        from automl.training import scaled_for_replicas

        rate = scaled_for_replicas(hp.get("learning_rate") if learning_rate is None else learning_rate)
        model.compile(optimizer=make_optimizer(hp.get("optimizer"), rate), loss=self.task.loss(hp),
                      metrics=self.task.metrics())
        # Its slot variables now, eagerly: built inside the first traced train step, their
        # initializers stay in that step's graph after the model is gone, and resident memory
        # climbed by 40-170 MB a search trial (quickstart, 20 trials: 1.71 times trial 5's).
        model.optimizer.build(model.trainable_variables)

    def fit(self, model, hp, data, *, epochs: int, initial_epoch: int = 0, callbacks=(),
            train_indices=None, val_indices=None):
        """Trains `model` on the training part, validating on the validation part. Returns what
        KerasTuner reads the objective from (a `History`, or a dict of metric values)."""
        from automl.training import check_finite

        batch_size = global_batch(hp)
        train = self.task.train_dataset(hp, data, "train", batch_size, indices=train_indices)
        val = self.task.train_dataset(hp, data, "val", batch_size, indices=val_indices, shuffle=False)
        history = model.fit(train, validation_data=val, epochs=epochs, initial_epoch=initial_epoch,
                            callbacks=list(callbacks), verbose=0)
        check_finite(history.history)
        return history

    def validation_scores(self, model, hp, data) -> dict:
        """The model's loss and metrics on the validation part, named as `fit` logs them (val_...)."""
        val = self.task.train_dataset(hp, data, "val", global_batch(hp), shuffle=False)
        scores = model.evaluate(val, return_dict=True, verbose=0)
        return {f"val_{name}": float(value) for name, value in scores.items()}

    def fit_on_train_and_val(self, model, hp, data, *, epochs: int, callbacks=()):
        """Trains `model` on the training and validation parts together, shuffled into one
        stream (no validation: the epoch count was chosen before)."""
        import tensorflow as tf

        from automl.training import check_finite

        batch_size = global_batch(hp)
        train = self.task.train_dataset(hp, data, "train", batch_size).unbatch()
        val = self.task.train_dataset(hp, data, "val", batch_size).unbatch()
        both = train.concatenate(val).shuffle(20_000, reshuffle_each_iteration=True)
        history = model.fit(both.batch(batch_size).prefetch(tf.data.AUTOTUNE), epochs=epochs,
                            callbacks=list(callbacks), verbose=0)
        check_finite(history.history)
        return history

    def save_training_state(self, model, folder) -> None:
        """Writes what training needs to continue after the last finished epoch (weights, optimizer)."""
        from pathlib import Path

        from automl.training import save_optimizer, save_weights

        folder = Path(folder)
        save_weights(model, folder / "last.weights.h5")
        save_optimizer(model.optimizer, folder / "last.optimizer.npz")

    def restore_training_state(self, model, folder) -> bool:
        """Loads what `save_training_state` wrote into a compiled `model`; False for the optimizer
        when its state does not fit (it then starts fresh)."""
        from pathlib import Path

        from automl.training import restore_optimizer

        folder = Path(folder)
        model.load_weights(folder / "last.weights.h5")
        return restore_optimizer(model.optimizer, model.trainable_variables, folder / "last.optimizer.npz")
