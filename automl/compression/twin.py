"""A Keras 3 functional model rebuilt layer by layer in tf_keras, with its weights.

tfmot wraps only tf_keras (Keras 2) layers. The twin is read from the model's own
serialized graph (`get_config`): each layer becomes the tf_keras layer of the same class
and configuration, wired as the original, and takes the original's weights. A layer with
no tf_keras counterpart fails with its name and class; `check_twin` then compares the
outputs of both models on real inputs.
"""

from __future__ import annotations

import inspect

import numpy as np

from automl.errors import ExportError

#: Keras 3 configuration keys tf_keras layers do not take (Keras 3 only features, at their defaults).
_KERAS3_ONLY = {"lora_rank", "lora_alpha", "quantization_config", "gradient_clipping"}


class UnsupportedLayer(ExportError):
    """A layer of the model that has no tf_keras twin."""


def tf_keras_twin(model):
    """The tf_keras model with `model`'s layers, wiring and weights."""
    import tf_keras

    graph = model.get_config()
    if "layers" not in graph:
        raise UnsupportedLayer(f"model {model.name}: only functional models have a tf_keras twin "
                               f"(got {type(model).__name__})")
    originals = {layer.name: layer for layer in model.layers}
    tensors: dict[tuple, object] = {}
    for entry in graph["layers"]:
        name = entry["name"]
        if entry["class_name"] == "InputLayer":
            cfg = entry["config"]
            tensors[(name, 0, 0)] = tf_keras.Input(shape=tuple(cfg["batch_shape"][1:]), dtype=cfg["dtype"],
                                                   name=name)
            continue
        layer = _twin_layer(originals[name])
        for node_index, node in enumerate(entry["inbound_nodes"]):
            args = [_resolve(arg, tensors) for arg in node["args"]]
            kwargs = {key: _resolve(value, tensors) for key, value in node["kwargs"].items()}
            outputs = layer(*args, **kwargs)
            for index, tensor in enumerate(outputs if isinstance(outputs, (list, tuple)) else [outputs]):
                tensors[(name, node_index, index)] = tensor
        if originals[name].weights:
            layer.set_weights(originals[name].get_weights())
    inputs = [tensors[_history(h)] for h in _histories(graph["input_layers"])]
    outputs = [tensors[_history(h)] for h in _histories(graph["output_layers"])]
    return tf_keras.Model(inputs[0] if len(inputs) == 1 else inputs,
                          outputs[0] if len(outputs) == 1 else outputs, name=model.name)


def check_twin(model, twin, inputs, tolerance: float = 1e-4) -> float:
    """Largest absolute difference of the two models' outputs on `inputs`; fails above `tolerance`."""
    ours = np.asarray(model.predict(inputs, verbose=0))
    theirs = np.asarray(twin.predict(inputs, verbose=0))
    worst = float(np.max(np.abs(ours - theirs)))
    if worst > tolerance:
        raise ExportError(f"the tf_keras twin of {model.name} differs from it by up to {worst:.2e} "
                          f"(more than {tolerance:g}) on the same inputs")
    return worst


def _twin_layer(layer):
    import tf_keras

    kind = type(layer).__name__
    twin_class = getattr(tf_keras.layers, kind, None)
    if twin_class is None:
        raise UnsupportedLayer(f"layer {layer.name!r} ({kind}) has no tf_keras counterpart, so tfmot cannot "
                               f"wrap it")
    config = dict(layer.get_config())
    config["dtype"] = _policy_name(config.get("dtype"))
    # The weights are copied, so initializers (serialized unlike tf_keras's) do not matter.
    config = {key: value for key, value in config.items() if not key.endswith("_initializer")}
    accepted = _accepted_keys(twin_class)
    dropped = {key for key in config if accepted is not None and key not in accepted}
    unknown = dropped - _KERAS3_ONLY
    if unknown:
        raise UnsupportedLayer(f"layer {layer.name!r} ({kind}): tf_keras's {kind} takes no "
                               f"{', '.join(sorted(unknown))}")
    for key in dropped:
        config.pop(key)
    return twin_class.from_config(config)


def _accepted_keys(cls) -> set | None:
    """Arguments `cls.__init__` takes by name, plus what every tf_keras layer takes."""
    names = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        names |= {n for n, p in parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break
    return names | {"name", "dtype", "trainable", "dynamic", "input_dim", "input_shape", "batch_input_shape",
                    "batch_size", "weights", "activity_regularizer", "autocast", "implementation"}


def _policy_name(dtype) -> str | None:
    """Keras 3 serializes a layer's dtype as a DTypePolicy; tf_keras takes its name."""
    if isinstance(dtype, dict):
        return dtype.get("config", {}).get("name", "float32")
    return dtype


def _resolve(value, tensors):
    """A serialized call argument with its Keras tensors replaced by the twin's."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return tensors[_history(value["config"]["keras_history"])]
    if isinstance(value, (list, tuple)):
        return [_resolve(v, tensors) for v in value]
    return value


def _history(history) -> tuple:
    name, node_index, tensor_index = history
    return name, node_index, tensor_index


def _histories(layers) -> list:
    """`input_layers` / `output_layers` hold one [name, node, index] triple or a list of them."""
    if layers and isinstance(layers[0], str):
        return [layers]
    return list(layers)
