"""Augmentations side by side: the known-good small_cnn fine-tuned on full Fashion-MNIST for the
same epochs from the same seed, once per augmentation, scored on the 10,000 test images.

Each arm is a fine-tuning as the pipeline runs it (cosine schedule over the epochs, the best
validation epoch kept) but with the configuration pinned and no search before it, so the only
difference between arms is the augmentation. The test score is the model's own (no mirror
averaging). One arm of 26 epochs takes about 16 minutes on two CPU cores: run in the background.

Usage: python tests/benchmarks/augmentation.py [--epochs 26] [--augmentations flip flip_erase]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def fine_tune(augmentation: str, epochs: int) -> dict:
    import keras

    from automl.config.loader import config_from_mapping
    from automl.families.small_cnn import SmallCNN
    from automl.finetune import _Finetuning
    from automl.search import pinned_hyperparameters
    from automl.tasks import get_task

    keras.utils.set_random_seed(0)
    config = config_from_mapping({
        "task": "image_classification", "seed": 0,
        "data": {"path": "/usr/share/datasets/fashion-mnist", "split": {"val": 0.1}},
        "finetune": {"epochs": epochs, "patience": epochs + 1},
    })
    task = get_task(config.task)
    data = task.load_data(config)
    values = {**SmallCNN().known_good(task.profile(data))[0], "augmentation": augmentation}
    best = {"family": "small_cnn", "_hp": pinned_hyperparameters(values), "pretrained": False}
    started = time.time()
    with tempfile.TemporaryDirectory() as folder:
        run = _Finetuning(config, task, data, best, None, Path(folder) / "finetune", "benchmark")
        run.run()
        test = data.part("test")
        scores = run.model.evaluate(test.arrays.astype("float32"), test.labels, verbose=0, return_dict=True)
        history = run.state["history"]
    return {"augmentation": augmentation, "test_accuracy": scores["accuracy"], "test_loss": scores["loss"],
            "best_val_accuracy": max(history["val_accuracy"]), "last_train_accuracy": history["accuracy"][-1],
            "seconds": time.time() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=26)
    parser.add_argument("--augmentations", nargs="+", default=["flip", "flip_erase"])
    args = parser.parse_args()
    rows = []
    for augmentation in args.augmentations:
        rows.append(fine_tune(augmentation, args.epochs))
        print(rows[-1], flush=True)
    print(f"\nFashion-MNIST, 54,000 train / 6,000 val / 10,000 test, {args.epochs} epochs each, seed 0")
    print(f"{'augmentation':<14}{'test acc':>10}{'test loss':>11}{'best val':>10}{'train':>8}{'seconds':>9}")
    for row in rows:
        print(f"{row['augmentation']:<14}{row['test_accuracy']:>10.4f}{row['test_loss']:>11.4f}"
              f"{row['best_val_accuracy']:>10.4f}{row['last_train_accuracy']:>8.4f}{row['seconds']:>9.0f}")


if __name__ == "__main__":
    main()
