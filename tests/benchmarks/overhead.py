"""Training throughput of automl's fine-tuning against a hand-written `model.fit`, same model, same data.

automl's fine-tuning adds a tf.data pipeline (augmentation when searched), per-epoch checkpoints
of weights and optimizer, early stopping state, a cosine schedule and progress lines. This
measures what that costs: both train the same small CNN (the known-good configuration, no
augmentation, so the work per example is equal) on the same Fashion-MNIST images for the same
epochs, from the same initial weights, and the script prints examples per second for each,
leaving out the first epoch (graph tracing) of both.

Both halves train the same compiled model (automl's loss: one-hot targets when label smoothing is
searched) on the same tf.data pipeline (`task.train_dataset`, the batches automl trains on); the
hand-written half is a bare `model.fit` with no callbacks.

The two halves alternate `--repeats` times (this 2-core VM's epoch times move by 10-15% from one
minute to the next) and the median ratio is the figure.

Usage: python tests/benchmarks/overhead.py [--examples 20000] [--epochs 4] [--repeats 3] [--smoke]
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


def automl_half(config, task, data, best, epochs: int):
    """automl's fine-tuning of `best` for `epochs`: its model's initial weights and the seconds of
    epochs 2 onwards."""
    from automl.finetune import _Finetuning

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
        return run.hypermodel, initial, timer.steady_seconds()


def hand_half(task, data, hypermodel, hp, initial, epochs: int) -> float:
    """The same model (compiled as automl compiles it: its loss and targets), weights, batches and
    validation, trained by a bare model.fit: the seconds of epochs 2 onwards."""
    model = hypermodel.build(hp)
    model.set_weights(initial)
    batch = hp.get("batch_size")
    train = task.train_dataset(hp, data, "train", batch)
    val = task.train_dataset(hp, data, "val", batch, shuffle=False)
    hand = EpochTimes()
    model.fit(train, validation_data=val, epochs=epochs, callbacks=[hand], verbose=0)
    return hand.steady_seconds()


def main() -> None:
    import statistics

    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="300 images, 2 epochs (the first is not timed), once")
    args = parser.parse_args()
    if args.smoke:
        args.examples, args.epochs, args.repeats = 300, 2, 1

    from automl.config.loader import config_from_mapping
    from automl.families.small_cnn import SmallCNN
    from automl.search import pinned_hyperparameters
    from automl.tasks import get_task

    config = config_from_mapping({
        "task": "image_classification",
        "data": {"path": "/usr/share/datasets/fashion-mnist", "max_examples": args.examples},
        "finetune": {"epochs": args.epochs, "patience": args.epochs + 1},
    })
    task = get_task(config.task)
    data = task.load_data(config)
    values = {**SmallCNN().known_good(task.profile(data))[0], "augmentation": "none"}
    hp = pinned_hyperparameters(values)
    best = {"family": "small_cnn", "_hp": hp, "pretrained": False}
    count = task.examples.count(data, "train")
    examples = count * (args.epochs - 1)
    print(f"Fashion-MNIST: {count} training images, batch {hp.get('batch_size')}, epochs 2-{args.epochs} timed, "
          f"{args.repeats} repeat(s)")
    ratios = []
    for repeat in range(args.repeats):
        hypermodel, initial, ours = automl_half(config, task, data, best, args.epochs)
        theirs = hand_half(task, data, hypermodel, hp, initial, args.epochs)
        ratios.append(theirs / ours)
        print(f"repeat {repeat + 1}: hand-written model.fit {examples / theirs:8.0f} examples/s ({theirs:.1f} s); "
              f"automl fine-tuning {examples / ours:8.0f} examples/s ({ours:.1f} s); ratio {theirs / ours:.3f}",
              flush=True)
    print(f"ratio (automl / hand-written): {statistics.median(ratios):.3f} (median of {len(ratios)})")


if __name__ == "__main__":
    main()
