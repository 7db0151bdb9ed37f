"""Compression of a trained model for phones: pruning, weight clustering and quantization-aware
training through tfmot on a tf_keras twin (`twin.py`, `tfmot_worker.py`, run in a process of its
own), and selective post-training quantization of the .tflite file."""

from __future__ import annotations

from importlib.util import find_spec

from automl.errors import ConfigError


def require_tfmot(techniques, where: str = "export.compression") -> None:
    """Refuses compression before any work when tfmot (the extra `automl[compression]`) is missing."""
    if techniques and find_spec("tensorflow_model_optimization") is None:
        raise ConfigError(
            f"{where}: {', '.join(techniques)} trains with tensorflow-model-optimization, which is not "
            f"installed. Install it with `pip install 'automl[compression]'` (beside automl[mediapipe]: "
            f"`pip install --no-deps tensorflow-model-optimization==0.8.1 dm-tree mock`), or drop "
            f"{where}.")
