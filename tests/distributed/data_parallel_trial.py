"""One search trial of the quickstart's small CNN, run in its own process (`python -m` this file):
`mirrored` splits the CPU into two logical devices and trains under MirroredStrategy at a per-replica
batch of 16; `one` trains on the default device at the same global batch (32) and the learning rate
MirroredStrategy scales to. Prints the epochs' losses as JSON. Used by test_data_parallel.py."""

import json
import sys
from pathlib import Path

import tensorflow as tf

mode = sys.argv[1]
if mode == "mirrored":  # before TensorFlow starts: one physical CPU as two devices
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras_tuner  # noqa: E402

from automl.config.loader import load_config  # noqa: E402
from automl.families import get_family  # noqa: E402
from automl.hypermodel import TaskHyperModel  # noqa: E402
from automl.runtime import choose_runtime  # noqa: E402
from automl.tasks import get_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
config = load_config(ROOT / "pipelines" / "quickstart.yaml", [f"runtime.strategy={'mirrored' if mode == 'mirrored' else 'cpu'}"])
task = get_task(config.task)
data = task.load_data(config)
runtime = choose_runtime(config)
replicas = runtime.strategy.num_replicas_in_sync
hp = keras_tuner.HyperParameters()
# No dropout and no augmentation: the random draws per replica differ from one device's; the math must not.
values = {"width": 16, "depth": 2, "convs_per_block": 1, "dropout": 0.0, "head_dropout": 0.0,
          "augmentation": "none", "label_smoothing": 0.0, "optimizer": "adam",
          "batch_size": 16 if mode == "mirrored" else 32, "learning_rate": 0.002 if mode == "mirrored" else 0.004}
for name, value in values.items():
    hp.Fixed(name, value)
hypermodel = TaskHyperModel(get_family("small_cnn"), task, data, seed=7)
with runtime.strategy.scope():
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, epochs=int(sys.argv[2]) if len(sys.argv) > 2 else 3)
print(json.dumps({"strategy": runtime.name, "replicas": replicas, "devices": runtime.devices,
                  "learning_rate": float(model.optimizer.learning_rate.numpy()),
                  "loss": history.history["loss"], "val_loss": history.history["val_loss"]}))
