"""Training choices side by side: the known-good small_cnn fine-tuned on full Fashion-MNIST for the
same epochs from the same seed, once per arm (a set of hyperparameter overrides), scored on the
10,000 test images.

Each arm is a fine-tuning as the pipeline runs it (cosine schedule over the epochs, the best
validation epoch kept) but with the configuration pinned and no search before it, so the only
difference between arms is their overrides. The test score is the model's own (no mirror
averaging). One arm of 26 epochs takes about 16-20 minutes on two CPU cores: run in the background.

Usage: python tests/benchmarks/training_arms.py [--epochs 26] [--smoke] \
           --arms augmentation=flip,label_smoothing=0.0 augmentation=flip,label_smoothing=0.1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml


def parse_arm(text: str) -> dict:
    """'augmentation=flip,label_smoothing=0.1' -> {'augmentation': 'flip', 'label_smoothing': 0.1}."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"--arms: expected name=value[,name=value...], got {text!r}")
    return {name: yaml.safe_load(value) for name, value in pairs}


def fine_tune(overrides: dict, epochs: int, max_examples=None) -> dict:
    import keras

    from automl.config.loader import config_from_mapping
    from automl.families.small_cnn import SmallCNN
    from automl.finetune import _Finetuning
    from automl.search import pinned_hyperparameters
    from automl.tasks import get_task

    keras.utils.set_random_seed(0)
    config = config_from_mapping({
        "task": "image_classification", "seed": 0,
        "data": {"path": "/usr/share/datasets/fashion-mnist", "split": {"val": 0.1}, "max_examples": max_examples},
        "finetune": {"epochs": epochs, "patience": epochs + 1},
    })
    task = get_task(config.task)
    data = task.load_data(config)
    values = {**SmallCNN().known_good(task.profile(data))[0], **overrides}
    best = {"family": "small_cnn", "_hp": pinned_hyperparameters(values), "pretrained": False}
    started = time.time()
    with tempfile.TemporaryDirectory() as folder:
        run = _Finetuning(config, task, data, best, None, Path(folder) / "finetune", "benchmark")
        run.run()
        images, labels = task.eval_arrays(data, "test")
        probs = run.model.predict(images, batch_size=512, verbose=0)
        history = run.state["history"]
    return {"arm": overrides, "test_accuracy": task.evaluate(labels, probs, data)["accuracy"],
            "best_val_accuracy": max(history["val_accuracy"]), "last_train_accuracy": history["accuracy"][-1],
            "seconds": time.time() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=26)
    parser.add_argument("--arms", nargs="+", type=parse_arm,
                        default=[{"augmentation": "flip"}, {"augmentation": "flip_erase"}])
    parser.add_argument("--smoke", action="store_true", help="one epoch on 300 images per arm")
    args = parser.parse_args()
    examples = 300 if args.smoke else None
    epochs = 1 if args.smoke else args.epochs
    rows = []
    for overrides in args.arms:
        rows.append(fine_tune(overrides, epochs, examples))
        print(rows[-1], flush=True)
    sizes = "300 images" if args.smoke else "54,000 train / 6,000 val / 10,000 test"
    print(f"\nFashion-MNIST, {sizes}, {epochs} epochs each, seed 0")
    print(f"{'test acc':>9}{'best val':>10}{'train':>8}{'seconds':>9}  arm")
    for row in rows:
        print(f"{row['test_accuracy']:>9.4f}{row['best_val_accuracy']:>10.4f}{row['last_train_accuracy']:>8.4f}"
              f"{row['seconds']:>9.0f}  {row['arm']}")


if __name__ == "__main__":
    main()
