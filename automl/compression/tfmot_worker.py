"""Pruning, weight clustering and quantization-aware training with tfmot, in a process of its own.

Importing tfmot sets TF_USE_LEGACY_KERAS=1 for the whole process, so the pipeline never
imports it: `compressed_exports` (compression/stage.py) writes the trained Keras 3 model into a
`.compression/` folder of the bundle being made, a spec into `.compression/<technique>/`, and runs
`python -m automl.compression.tfmot_worker .compression/<technique> MODEL_SHA256` with the config,
the task's data and the hyperparameters on its stdin (never read from a file).
Here the model crosses to its tf_keras twin (weights copied, outputs checked on validation
inputs), is fine-tuned under tfmot stage by stage (e.g. prune, then pruning-preserving QAT),
stripped of tfmot's wrappers and converted to an int8 .tflite file. `result.json` says what
was done: epochs, the sparsity of the final kernels, the int8 codes per channel of a clustered
file, the layers left unwrapped. The verify stage then scores the file on LiteRT.
"""

from __future__ import annotations

import json
import math
import pickle
import re
import sys
import time
from pathlib import Path

import numpy as np
import tf_keras

from automl.compression.sparsity import layer_sparsities
from automl.tasks.colour_input import LAYER_NAME as GREY_LAYER

#: Which `export.compression.epochs` entry a stage trains for.
EPOCHS_OF = {"prune": "prune", "cluster": "cluster", "qat": "qat", "prune_qat": "qat", "cluster_qat": "qat"}
#: What each `export.compression` technique runs, in order.
STAGES = {
    "prune": ["prune"],
    "cluster": ["cluster"],
    "qat": ["qat"],
    "prune_qat": ["prune", "prune_qat"],
    "cluster_qat": ["cluster", "cluster_qat"],
}
#: tfmot's pruning schedule reaches its final sparsity at this share of the pruning steps, and
#: the rest fine-tunes at that sparsity.
PRUNE_RAMP = 0.7


def main(folder: Path, digest: str) -> None:
    """`digest`: the sha256 of the trained model file, from the parent (a file changed since is
    refused); the config, data and hyperparameters come on stdin, from the parent alone."""
    import hashlib

    config, data, hp = pickle.loads(sys.stdin.buffer.read())
    spec = json.loads((folder / "spec.json").read_text())
    shared = folder.parent  # the trained model, written once for every technique
    if hashlib.sha256((shared / "trained.keras").read_bytes()).hexdigest() != digest:
        from automl.errors import ExportError

        raise ExportError(f"{shared / 'trained.keras'} changed after the export stage wrote it; not loaded")
    import keras  # Keras 3, before tfmot switches tf.keras to tf_keras

    from automl.compression.twin import check_twin, tf_keras_twin
    from automl.tasks import get_task

    task = get_task(config.task)
    trained = keras.saving.load_model(shared / "trained.keras", compile=False)
    val_inputs, _ = task.eval_arrays(data, "val", hp)
    twin = tf_keras_twin(trained)
    difference = check_twin(trained, twin, keras.tree.map_structure(lambda a: a[:256], val_inputs))
    _log(f"tf_keras twin: {len(twin.layers)} layers, outputs within {difference:.1e} of the Keras 3 model")

    result = {"technique": spec["technique"], "twin_max_difference": difference, "stages": []}
    # The teacher is a second twin (the stages wrap the first one's own layers and train them), run as
    # the bundle runs the model: its outputs on each augmented batch are part of the targets.
    teacher = task.inference.tf_keras(tf_keras_twin(trained), spec.get("inference")) if spec.get("distillation") else None
    model = twin
    for stage in STAGES[spec["technique"]]:
        started = time.time()
        model, notes = _train_stage(stage, model, spec, task, data, hp, teacher)
        result["stages"].append({"stage": stage, "seconds": round(time.time() - started, 1), **notes})
    result["sparsity"] = weight_sparsity(model)
    content = _convert(task.inference.tf_keras(model, spec.get("inference")), spec, task, data, hp, folder)
    # Counted in the int8 file: QAT's float kernels drift between cluster values; their int8 codes do not.
    result["clusters"] = int8_values_per_channel(content) if "cluster" in spec["technique"] else None
    (folder / "result.json").write_text(json.dumps(result, indent=2))


def _train_stage(stage: str, model, spec: dict, task, data, hp, teacher=None):
    """Wraps `model` for one stage, fine-tunes it (toward a mix of the labels and `teacher`'s outputs,
    when there is a teacher and the targets are the outputs' kind) and returns it stripped of
    training-only wrappers."""
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.clustering.keras import clustering_registry
    from tensorflow_model_optimization.python.core.sparsity.keras import prune_registry

    batch = hp.get("batch_size")
    train = task.train_dataset(hp, data, "train", batch)
    val = task.train_dataset(hp, data, "val", batch, shuffle=False)
    steps = int(train.cardinality())
    epochs = spec["epochs"][EPOCHS_OF[stage]]
    callbacks, notes = [], {"epochs": epochs}
    if stage == "prune":
        # The first layer reads the pixels with a few weights per filter and the last one decides the
        # classes: both are a sliver of the weights and the most hurt by pruning.
        ends = _end_layers(model)
        prunable = {layer.name: [tuple(k.shape) for k in kernels] for layer in model.layers
                    if layer.trainable and (kernels := _layer_kernels(layer)) and layer.name not in ends
                    and prune_registry.PruneRegistry.supports(layer)}
        targets = layer_sparsities(prunable, spec["sparsity"], spec["layer_sparsity"])

        def prune(layer):  # batch norm too: tfmot wraps it, with nothing to prune
            schedule = tfmot.sparsity.keras.PolynomialDecay(
                initial_sparsity=0.0, final_sparsity=targets.get(layer.name, 0.0), begin_step=0,
                end_step=max(1, int(PRUNE_RAMP * steps * epochs)), frequency=max(1, steps // 10))
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)

        wrapped, notes["unpruned_layers"] = _wrap_supported(
            model, prune, lambda layer: prune_registry.PruneRegistry.supports(layer)
            and (targets.get(layer.name, 0.0) > 0.0 or not _layer_kernels(layer)))
        callbacks.append(tfmot.sparsity.keras.UpdatePruningStep())
        notes["target_sparsity"] = spec["sparsity"]
        notes["layer_sparsity"] = {name: round(value, 3) for name, value in targets.items()}
    elif stage == "cluster":
        centroids = tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS
        wrapped, notes["unclustered_layers"] = _wrap_supported(
            model, lambda layer: tfmot.clustering.keras.cluster_weights(
                layer, number_of_clusters=spec["clusters"], cluster_centroids_init=centroids),
            clustering_registry.ClusteringRegistry.supports)
        notes["clusters"] = spec["clusters"]
    else:
        wrapped, float_layers = _quantize_aware(model, stage)
        notes["float_layers"] = float_layers
    # The rate falls over the stage, as fine-tuning's did: a constant one left pruning noisy.
    rate = tf_keras.optimizers.schedules.CosineDecay(spec["learning_rate"], decay_steps=steps * epochs, alpha=0.02)
    trained = wrapped
    if teacher is not None and _same_kind(train.element_spec[1], teacher.outputs[0]):
        trained = _Distilled(wrapped, teacher, spec["distillation"])
        notes["distillation"] = spec["distillation"]
    trained.compile(optimizer=tf_keras.optimizers.Adam(rate), loss=tf_keras_loss(task.loss(hp)))
    _log(f"{stage}: {epochs} epoch(s) of {steps} steps, lr={spec['learning_rate']:g}")
    history = trained.fit(train, validation_data=val, epochs=epochs, callbacks=[*callbacks, _Progress(stage)],
                          verbose=0)
    notes["val_loss"] = [round(float(v), 4) for v in history.history["val_loss"]]
    if not all(math.isfinite(v) for v in notes["val_loss"]):
        raise RuntimeError(f"{stage}: the validation loss is not finite ({notes['val_loss']})")
    if stage == "prune":
        wrapped = tfmot.sparsity.keras.strip_pruning(wrapped)
    elif stage == "cluster":
        wrapped = tfmot.clustering.keras.strip_clustering(wrapped)
    return wrapped, notes


def _end_layers(model) -> set[str]:
    """Names of the first and the last layer with a kernel it trains (not the fixed grey-from-colour
    one, `automl.tasks.colour_input`)."""
    kernels = [layer.name for layer in model.layers if layer.trainable and _layer_kernels(layer)]
    return {kernels[0], kernels[-1]} if kernels else set()


def _same_kind(targets, outputs) -> bool:
    """Whether a batch of targets (a TensorSpec) can be mixed with a model's outputs: both float, same
    shape (one-hot classes, masks, values; not class indices)."""
    import tensorflow as tf

    return (isinstance(targets, tf.TensorSpec) and targets.dtype.is_floating
            and targets.shape[1:].as_list() == outputs.shape[1:].as_list())


class _Distilled(tf_keras.Model):
    """Trains `student` toward `weight` x `teacher`'s outputs + (1 - weight) x the labels, on each
    batch as augmented: a pruned or clustered net recovers more from the trained model's answers
    than from the labels alone. Validation scores the student on the labels."""

    def __init__(self, student, teacher, weight: float):
        super().__init__(name=f"{student.name}_distilled")
        self.student, self.teacher, self.weight = student, teacher, weight
        teacher.trainable = False

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def train_step(self, data):
        inputs, labels = data
        answers = self.teacher(inputs, training=False)
        return super().train_step((inputs, self.weight * answers + (1.0 - self.weight) * labels))


def _wrap_supported(model, wrap, supports):
    """`model` with `wrap` around each layer with weights that `supports` (tfmot's registry) accepts;
    also the names of the layers with weights left as they are (e.g. batch norm)."""
    skipped = []

    def clone(layer):
        if not layer.weights or isinstance(layer, tf_keras.layers.InputLayer) or layer.name == GREY_LAYER:
            return layer  # the fixed grey-from-colour weights (three of them) are left as they are
        if supports(layer):
            return wrap(layer)
        skipped.append(f"{layer.name} ({type(layer).__name__})")
        return layer

    # The wrappers hold the model's own layers, so the clone keeps their trained weights.
    return tf_keras.models.clone_model(model, clone_function=clone), skipped


def _quantize_aware(model, stage: str):
    """The model with fake-quantization for QAT: every layer tfmot's 8-bit scheme knows is
    annotated (batch norm too: it folds into the convolution before it); a layer it does not
    know quantizes only its output when it has no weights (Rescaling, Identity: the int8 file
    quantizes every tensor anyway), else it is listed and left to post-training quantization."""
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_configs,
        default_8bit_quantize_registry,
    )

    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    float_layers = []

    class Unquantized(tfmot.quantization.keras.QuantizeConfig):
        """No fake quantization: the layer's ranges come from post-training calibration."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    def annotate(layer):
        if isinstance(layer, tf_keras.layers.InputLayer):
            return layer
        if layer.name == GREY_LAYER:
            # QAT learns a range only while its layer trains: this fixed one would keep -6..6.
            return tfmot.quantization.keras.quantize_annotate_layer(layer, Unquantized())
        if registry.supports(layer) or isinstance(layer, tf_keras.layers.BatchNormalization):
            return tfmot.quantization.keras.quantize_annotate_layer(layer)
        if not layer.weights:
            return tfmot.quantization.keras.quantize_annotate_layer(
                layer, default_8bit_quantize_configs.Default8BitOutputQuantizeConfig())
        float_layers.append(f"{layer.name} ({type(layer).__name__})")
        return layer

    # The annotations wrap the model's own layers, so the clone keeps their trained weights.
    annotated = tf_keras.models.clone_model(model, clone_function=annotate)
    if stage == "prune_qat":
        scheme = tfmot.quantization.keras.collab_opts.Default8BitPrunePreserveQuantizeScheme()
    elif stage == "cluster_qat":
        from tensorflow_model_optimization.python.core.api.experimental.combine import (
            Default8BitClusterPreserveQuantizeScheme,
        )

        scheme = Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=False)
    else:
        scheme = tfmot.quantization.keras.default_8bit.Default8BitQuantizeScheme()
    scope = {"Default8BitOutputQuantizeConfig": default_8bit_quantize_configs.Default8BitOutputQuantizeConfig,
             "Unquantized": Unquantized}
    with tfmot.quantization.keras.quantize_scope(scope):
        return tfmot.quantization.keras.quantize_apply(annotated, scheme), float_layers


def _convert(model, spec: dict, task, data, hp, folder: Path) -> None:
    from automl.convert import convert_tflite, representative_stream, twin_converter

    samples = task.representative_inputs(data, spec["representative_examples"], spec["seed"], hp)
    content = convert_tflite(twin_converter(model, task.inference.output_name), "int8", representative_stream(samples), spec["allow_flex_ops"],
                             float_inputs=not isinstance(samples, dict), int8_io=task.inference.int8_io(data))
    (folder / "model.tflite").write_bytes(content)
    return content


#: A convolution's (depthwise and pointwise too) or dense layer's kernel, an LSTM's recurrent one (not
#: QAT's kernel_min/max).
KERNEL_NAME = re.compile(r"(^|/)(depthwise_|pointwise_|recurrent_)?kernel(:\d+)?$")


def _kernels(model) -> list[np.ndarray]:
    """The kernels of the model's convolutions and dense layers."""
    return [np.asarray(w) for w in model.weights if KERNEL_NAME.search(w.name)]


def _layer_kernels(layer) -> list:
    return [w for w in layer.weights if KERNEL_NAME.search(w.name)]


def weight_sparsity(model) -> float:
    """Share of zeros among the model's kernels."""
    kernels = _kernels(model)
    total = sum(k.size for k in kernels)
    return round(sum(int(np.sum(k == 0)) for k in kernels) / total, 4) if total else 0.0


def int8_values_per_channel(content: bytes) -> int:
    """The most distinct int8 codes in any output channel of the file's convolution and dense
    weights (each channel has its own scale, so a clustered kernel has at most that many). Read
    from the flatbuffer: an interpreter is not needed (and aborts on some clustered files)."""
    from ai_edge_litert import schema_py_generated as schema

    from automl.convert import read_flatbuffer

    model = read_flatbuffer(content)
    most = 0
    for graph in model.subgraphs or []:
        for tensor in graph.tensors or []:
            quantization = tensor.quantization
            buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
            if (tensor.type != schema.TensorType.INT8 or tensor.shape is None or len(tensor.shape) not in (2, 4)
                    or quantization is None or quantization.scale is None or len(quantization.scale) < 2
                    or buffer is None or buffer.data is None or len(buffer.data) == 0):
                continue  # per-channel int8 constant weights only (activations have one scale, no data)
            weights = np.asarray(buffer.data, dtype=np.uint8).view(np.int8).reshape(tuple(tensor.shape))
            channels = np.moveaxis(weights, quantization.quantizedDimension, 0).reshape(weights.shape[
                quantization.quantizedDimension], -1)
            most = max(most, max(len(np.unique(channel)) for channel in channels))
    return most


def tf_keras_loss(loss):
    """The tf_keras loss of the same class and configuration as a Keras 3 loss."""
    kind = getattr(tf_keras.losses, type(loss).__name__, None)
    if kind is None:
        raise RuntimeError(f"the task's loss {type(loss).__name__} has no tf_keras counterpart")
    config = {k: v for k, v in loss.get_config().items() if k in ("from_logits", "label_smoothing", "axis", "delta")}
    return kind(**config)


class _Progress(tf_keras.callbacks.Callback):
    """One line per epoch, as the pipeline's progress lines."""

    def __init__(self, stage: str):
        super().__init__()
        self.stage, self.started = stage, time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        shown = " ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items())
        _log(f"{self.stage} epoch {epoch + 1}: {shown} ({time.time() - self.started:.0f}s)")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] compress  {message}", flush=True)


if __name__ == "__main__":
    from automl.errors import AutomlError

    try:
        main(Path(sys.argv[1]), sys.argv[2])
    except AutomlError as err:  # a known failure (a layer tfmot cannot wrap): one line for the report
        print(f"error: {err}", flush=True)
        sys.exit(2)
