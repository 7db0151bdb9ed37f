"""Training throughput of automl's fine-tuning against a hand-written `model.fit`, same model, same data.

automl's fine-tuning adds a tf.data pipeline (augmentation when searched), per-epoch checkpoints
of weights and optimizer, early stopping state, a cosine schedule and progress lines. This
measures what that costs: both train the same small CNN (the known-good configuration, no
augmentation, so the work per example is equal) on the same Fashion-MNIST images for the same
epochs, from the same initial weights, and the script prints examples per second for each,
leaving out the first epoch (graph tracing) of both.

Usage: python tests/benchmarks/overhead.py [--examples 20000] [--epochs 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends = [time.time()]

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.time())

    def steady_seconds(self) -> float:
        """Seconds of the epochs after the first."""
        return self.ends[-1] - self.ends[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    from automl.config.loader import config_from_mapping
    from automl.finetune import _Finetuning
    from automl.tasks import get_task
    from automl.families.small_cnn import SmallCNN
    from automl.search import pinned_hyperparameters

    config = config_from_mapping({
        "task": "image_classification",
        "data": {"path": "/usr/share/datasets/fashion-mnist", "max_examples": args.examples},
        "finetune": {"epochs": args.epochs, "patience": args.epochs + 1},
    })
    task = get_task(config.task)
    data = task.load_data(config)
    profile = task.profile(data)
    values = {**SmallCNN().known_good(profile)[0], "augmentation": "none"}
    hp = pinned_hyperparameters(values)
    best = {"family": "small_cnn", "_hp": hp, "pretrained": False}

    with tempfile.TemporaryDirectory() as folder:
        run = _Finetuning(config, task, data, best, None, Path(folder) / "finetune", "benchmark")
        timer = EpochTimes()
        initial = run.model.get_weights()
        original_fit = run.trainer.fit

        def timed_fit(model, hp_, data_, **kwargs):
            kwargs["callbacks"] = [*kwargs.get("callbacks", ()), timer]
            return original_fit(model, hp_, data_, **kwargs)

        run.trainer.fit = timed_fit
        run.run()
        ours = timer.steady_seconds()

    # The same model, weights and optimizer settings, trained by hand on numpy arrays.
    model = run.hypermodel.build(hp)
    model.set_weights(initial)
    train, val = data.part("train"), data.part("val")
    hand = EpochTimes()
    model.fit(train.arrays.astype("float32"), train.labels, validation_data=(val.arrays.astype("float32"), val.labels),
              batch_size=hp.get("batch_size"), epochs=args.epochs, callbacks=[hand], verbose=0)
    theirs = hand.steady_seconds()

    examples = len(train) * (args.epochs - 1)
    print(f"Fashion-MNIST: {len(train)} training images, batch {hp.get('batch_size')}, epochs 2-{args.epochs} timed")
    print(f"hand-written model.fit: {examples / theirs:8.0f} examples/s ({theirs:.1f} s)")
    print(f"automl fine-tuning:     {examples / ours:8.0f} examples/s ({ours:.1f} s)")
    print(f"ratio (automl / hand-written): {theirs / ours:.3f}")


if __name__ == "__main__":
    main()
