"""Mixed precision: which CPUs train faster in bfloat16, and the float32 model that is evaluated and exported.

Training under a mixed policy computes in bfloat16 (CPUs with AMX tiles, TPUs) or float16 (GPUs)
with float32 variables. What is evaluated, exported and verified is a float32 copy with the same
weights: LiteRT's builtin kernels take float32 (the float16 and int8 files are made from it), and
the test figures are then those of the model the files come from.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

#: /proc/cpuinfo's flag for AMX bfloat16 tiles (Intel Sapphire Rapids and later), where oneDNN runs
#: bfloat16 convolutions and matrix products 1.3-2x faster than float32.
AMX_BF16_FLAG = "amx_bf16"


def cpu_has_bf16_tiles(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has AMX bfloat16 units (False where /proc/cpuinfo cannot be read)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return any(line.startswith("flags") and AMX_BF16_FLAG in line.split() for line in text.splitlines())


#: The policy models are trained in (`train_in`). Keras keeps its global policy in the state
#: `keras.backend.clear_session()` resets, which KerasTuner calls before it builds each trial's model.
_training_policy = "float32"


def is_mixed(policy_name: str) -> bool:
    return policy_name.startswith("mixed_")


def train_in(policy: str) -> None:
    """Models built for training from now on compute in `policy` (the runtime's choice)."""
    global _training_policy
    import keras

    _training_policy = policy
    keras.mixed_precision.set_global_policy(policy)


def apply_training_policy() -> None:
    """Keras's global policy made the training policy again, before a model is built (a
    `clear_session` since `train_in` left Keras with float32)."""
    import keras

    if keras.mixed_precision.global_policy().name != _training_policy:
        keras.mixed_precision.set_global_policy(_training_policy)


@contextlib.contextmanager
def policy_restored_after():
    """Keras's global policy and the training policy as they were before the block, however it
    ends: a run that fails mid-training leaves the process (a notebook, the next `fit`) in float32."""
    import sys

    before = _training_policy
    try:
        yield
    finally:
        if "keras" in sys.modules:  # a run refused before TensorFlow was imported changed nothing
            train_in(before)


@contextlib.contextmanager
def float32_policy():
    """Layers built inside compute in float32, whatever the run trains in."""
    import keras

    before = keras.mixed_precision.global_policy(), _training_policy
    train_in("float32")
    try:
        yield
    finally:
        train_in(before[1])
        keras.mixed_precision.set_global_policy(before[0])


def float32_copy(model):
    """`model` rebuilt with every layer computing in float32 and its weights copied (the model
    itself when no layer is mixed)."""
    import keras

    # Read from the layers first: a model trained in float32 (a GAN's, a subclassed model without
    # get_config) is never serialized.
    if not any(is_mixed(layer.dtype_policy.name) for layer in model._flatten_layers(include_self=True)):
        return model
    config = keras.saving.serialize_keras_object(model)
    if not _has_mixed_policy(config):
        return model
    with float32_policy():
        copy = keras.saving.deserialize_keras_object(_as_float32(config))
    copy.set_weights(model.get_weights())
    return copy


def float32_from_now_on(model):
    """`model` in float32 (`float32_copy`), and every model built after it (compression's, export's)."""
    train_in("float32")
    return float32_copy(model)


def _is_mixed_policy(node: dict) -> bool:
    return "DTypePolicy" in str(node.get("class_name", "")) and is_mixed(str(node.get("config", {}).get("name", "")))


def _has_mixed_policy(node) -> bool:
    if isinstance(node, dict):
        return _is_mixed_policy(node) or any(_has_mixed_policy(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_mixed_policy(v) for v in node)
    return False


def _as_float32(node):
    """A serialized model's config with every mixed dtype policy made float32."""
    if isinstance(node, dict):
        if _is_mixed_policy(node):
            return {**node, "config": {**node["config"], "name": "float32"}}
        return {key: _as_float32(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_as_float32(value) for value in node]
    return node
