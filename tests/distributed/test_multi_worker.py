"""Multi-worker training is refused, and today's reason for refusing it is pinned."""

import json
import os
import socket
import subprocess
import sys

import pytest

from automl.errors import ConfigError

#: One worker of a two-worker MultiWorkerMirroredStrategy training a small Keras 3 model.
WORKER = """
import numpy as np, keras, tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
y = (x[:, 0] > 0).astype("int32")
model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0)
print("TRAINED")
"""


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_tf_config_gets_one_line_instead_of_a_hang(monkeypatch):
    from automl.runtime import refuse_multi_worker

    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    with pytest.raises(ConfigError, match="TF_CONFIG is set.*MultiWorkerMirroredStrategy fails with Keras 3"):
        refuse_multi_worker()
    monkeypatch.delenv("TF_CONFIG")
    refuse_multi_worker()


def test_multi_worker_mirrored_strategy_still_cannot_train_keras_3():
    """When this fails, a TensorFlow or Keras upgrade made multi-worker training work: offer it in
    runtime.strategy and drop `refuse_multi_worker`."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
               "CUDA_VISIBLE_DEVICES": ""}
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True))
    outputs = []
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=180)[0])
        except subprocess.TimeoutExpired:  # a hang is not training either
            worker.kill()
            outputs.append(worker.communicate()[0] + "\n(timed out)")
    trained = [worker.returncode == 0 and "TRAINED" in out for worker, out in zip(workers, outputs)]
    assert not all(trained), "MultiWorkerMirroredStrategy now trains a Keras 3 model"
    known = ("PerReplica", "Invalid reduction dimension", "timed out")
    assert any(reason in out for out in outputs for reason in known), outputs[0][-2000:]
