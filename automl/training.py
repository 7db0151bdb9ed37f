"""The default training engine's pieces: optimizers and the per-epoch training state.

A task trains through its `Task.trainer` (`automl.trainer.Trainer`: `build_model`, `fit`,
`save_training_state`/`restore_training_state`; supervised by default); these helpers are what
the default uses and what a task's own engine may reuse.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

OPTIMIZERS = ["adam", "adamw", "sgd"]
BATCH_SIZES = [32, 64, 128]


#: AdamW's decoupled weight decay. Keras scales it by the learning rate (each step shrinks a weight by
#: lr * decay), so at the search's rates 1e-4 shrank weights by well under 1% over a whole run: AdamW was
#: Adam. 0.15 at lr 2e-3 is 3e-4 a step. Side by side on Fashion-MNIST (small_cnn, same start, 10,000 test
#: images), test accuracy against Adam's: 12 epochs 0.9331 vs 0.9304, 30 epochs 0.9378 vs 0.9372 (a tie,
#: so the known-good configurations keep Adam).
ADAMW_WEIGHT_DECAY = 0.15


def replicas() -> int:
    """Devices the current `tf.distribute` strategy trains on at once (1 outside any)."""
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def scaled_for_replicas(rate):
    """A learning rate for `replicas()` devices: the batch grows with them, so does the rate (the linear
    rule: the same steps per example as on one device); said once per strategy. A schedule stays as is."""
    count = replicas()
    if count == 1 or not isinstance(rate, (int, float)):
        return rate
    from automl.progress import say

    if _SAID_SCALING.get("replicas") != count:
        _SAID_SCALING["replicas"] = count
        say("runtime", f"{count} replicas (MirroredStrategy): each takes the trial's batch size, so a step takes "
                       f"{count} times as many examples, and the learning rate is {count} times the searched one")
    return float(rate) * count


_SAID_SCALING: dict = {}


def make_optimizer(name: str, learning_rate):
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=ADAMW_WEIGHT_DECAY)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    raise ValueError(f"Unknown optimizer. Received: optimizer={name!r}; expected one of {OPTIMIZERS}")


class TrainingDiverged(ValueError):
    """Training broke down (a NaN loss, a GAN's collapse): a search trial fails and the search
    goes on; fine-tuning ends with its best epoch."""


def check_finite(history: dict) -> None:
    """A trial whose loss became NaN or infinite failed; KerasTuner records it and goes on."""
    losses = history.get("loss", [])
    if losses and not all(v is not None and math.isfinite(v) for v in losses):
        raise TrainingDiverged(f"training diverged: loss became {losses[-1]}")


def save_weights(model, path: Path) -> None:
    """Writes beside, then renames: a kill never leaves half a checkpoint (and a full disk stops the
    run before h5py meets it)."""
    from automl.disk import ensure_room, weight_bytes

    ensure_room(path.parent, 2 * weight_bytes(model), f"the checkpoint {path.name}")
    tmp = path.with_name(path.name.removesuffix(".weights.h5") + ".tmp.weights.h5")
    model.save_weights(tmp)
    tmp.replace(path)


def save_optimizer(optimizer, path: Path) -> None:
    """The optimizer's variables (step count, moments) as a .npz, so training resumes where it was."""
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, *[np.asarray(v) for v in optimizer.variables])
    tmp.replace(path)


def restore_optimizer(optimizer, variables, path: Path) -> bool:
    """Loads what `save_optimizer` wrote into an optimizer for `variables`; False when it does not fit."""
    if not path.exists():
        return False
    optimizer.build(variables)
    with np.load(path) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if len(values) != len(optimizer.variables) or any(
            tuple(v.shape) != value.shape for v, value in zip(optimizer.variables, values)):
        return False
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)
    return True


#: Under the run directory: TensorBoard logs of `search/<trial>` and `finetune`.
TENSORBOARD = "tensorboard"


def async_safe(callback):
    """Marks a callback whose batch hooks may run beside the training loop (Keras's `async_safe`).

    A callback with batch hooks otherwise makes Keras turn every step's logs into Python numbers on
    the loop's thread, waiting for each step before starting the next: fine-tuning ran at 0.84-0.91
    of a bare `model.fit` (tests/benchmarks/overhead.py). TerminateOnNaN, TensorBoard writing per epoch
    and our progress line only read the logs or count batches."""
    callback.async_safe = True
    return callback


def stop_on_nan():
    """keras.callbacks.TerminateOnNaN, its batch check off the training loop's thread."""
    import keras

    return async_safe(keras.callbacks.TerminateOnNaN())


def tensorboard_callbacks(config, run_dir, name: str) -> list:
    """A TensorBoard callback writing to <run>/tensorboard/<name> once per epoch, when
    `runtime.tensorboard` is on."""
    if not config.runtime.tensorboard:
        return []
    import keras

    return [async_safe(keras.callbacks.TensorBoard(log_dir=str(run_dir / TENSORBOARD / name), write_graph=False,
                                                   update_freq="epoch", profile_batch=0))]
