"""One family's backbone + the task's head + training choices, as a HyperModel."""

from __future__ import annotations

from typing import Optional

import keras
import keras_tuner

from automl.progress import epoch_callback

OPTIMIZERS = ["adam", "adamw", "sgd"]
BATCH_SIZES = [32, 64, 128]


def make_optimizer(name: str, learning_rate):
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=1e-4)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    raise ValueError(f"Unknown optimizer. Received: optimizer={name!r}; expected one of {OPTIMIZERS}")


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
        seed: when given, every build starts from this random state, so a trial (or the
            fine-tuning) starts and trains the same way whatever ran before it, resumed or not.
    """

    def __init__(self, family, task, data, *, pretrained=False, train_indices=None,
                 val_indices=None, deadline: Optional[float] = None, label: str = "",
                 seed: Optional[int] = None):
        super().__init__(name=family.info.name)
        self.family, self.task = family, task
        self.pretrained = pretrained
        # The data as this family sees it (for text: encoded by its tokenizer).
        self.data = task.prepare(data, family, pretrained)
        self.train_indices, self.val_indices = train_indices, val_indices
        self.deadline = deadline
        self.label = label or family.info.name
        self.seed = seed

    def build(self, hp):
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        self.family.input_space(hp, self.data)
        inputs = self.task.model_inputs(hp, self.data)
        backbone = lambda x: self.family.build(hp, x, pretrained=self.pretrained)  # noqa: E731
        outputs = self.task.model_outputs(hp, inputs, backbone, self.data)
        model = keras.Model(inputs, outputs, name=self.family.info.name)
        self.register_training_choices(hp)
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        model.compile(
            optimizer=make_optimizer(hp.Choice("optimizer", OPTIMIZERS, default="adam"), learning_rate),
            loss=self.task.loss(hp),
            metrics=self.task.metrics(),
        )
        return model

    def register_training_choices(self, hp):
        hp.Choice("batch_size", BATCH_SIZES, default=64)
        self.task.register_search_space(hp)

    def datasets(self, hp):
        batch_size = hp.get("batch_size")
        train = self.task.train_dataset(hp, self.data, "train", batch_size, indices=self.train_indices)
        val = self.task.train_dataset(hp, self.data, "val", batch_size, indices=self.val_indices, shuffle=False)
        return train, val

    def fit(self, hp, model, *args, epochs=1, callbacks=None, **kwargs):
        train, val = self.datasets(hp)
        callbacks = list(callbacks or [])
        callbacks += [keras.callbacks.TerminateOnNaN(),
                      epoch_callback("search", self.label, epochs, self.deadline, self.task.shown_metrics())]
        history = model.fit(train, validation_data=val, epochs=epochs, callbacks=callbacks,
                            verbose=0, **{k: v for k, v in kwargs.items() if k == "initial_epoch"})
        losses = history.history.get("loss", [])
        if losses and not all(map(_finite, losses)):
            raise ValueError(f"training diverged: loss became {losses[-1]}")
        return history


def _finite(value) -> bool:
    import math

    return value is not None and math.isfinite(value)
