"""Converts Keras models to TFLite: a SavedModel that runs in inference mode, the converter at each
quantization (builtin ops only unless Flex ops are allowed), and the op names read back from the
converted file. The export stage and the compression worker both convert through here."""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import Optional

import numpy as np

from automl.errors import ExportError

#: Logit given to padded positions in exported masked softmaxes.
MASKED_LOGIT = -32.0


def _unsupported_ops(message: str) -> list[str]:
    """Op names a failed TFLite conversion complains about."""
    ops = set(re.findall(r"'?tf\.(\w+)'?", message))
    return sorted(ops) or ["(see the converter message)"]


def convert_tflite(source, quantization: str, representative, allow_flex: bool,
                   float_inputs: bool = True, float_ops: tuple = (), int8_io: tuple = ("int8", "int8"),
                   float_layers: tuple = ()) -> bytes:
    """Converts a model to TFLite bytes at one quantization.

    Args:
        source: a SavedModel folder, or a zero-argument callable that returns a
            `tf.lite.TFLiteConverter` (e.g. from a concrete function).
        quantization: float32, float16, dynamic, int8 or int4 (weight-only, from the float32
            file: `automl.int4`).
        representative: for int8, a callable yielding model inputs.
        allow_flex: let TensorFlow (Flex) ops into the model.
        float_inputs: the model takes float inputs, which int8 models take as int8.
        float_ops: for int8, TFLite op types kept in float (the model then takes
            and returns float).
        int8_io: for int8, the file's input and output types, "int8" or "uint8". A uint8 input
            takes pixel values 0..255 as they are (scale 1, zero point 0, `pin_pixel_input`):
            what MediaPipe's image tasks hand a quantized model.
        float_layers: for int8, names of Keras layers whose ops all stay in float, whatever
            their type (as `float_ops`, the model then takes and returns float).
    """
    import tensorflow as tf

    converter = source() if callable(source) else tf.lite.TFLiteConverter.from_saved_model(str(source))
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if float_inputs:
            converter.inference_input_type = tf.as_dtype(int8_io[0])
        converter.inference_output_type = tf.as_dtype(int8_io[1])
    elif quantization not in ("float32", "int4"):
        raise ExportError(f"Unknown quantization. Received: quantization={quantization!r}")
    if allow_flex:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    try:
        if quantization == "int8" and (float_ops or float_layers):
            return _int8_with_float_ops(converter, float_ops, float_layers)
        if quantization == "int4":
            from automl.int4 import int4_weights

            return int4_weights(converter.convert())
        if quantization == "int8" and float_inputs and int8_io[0] == "uint8":
            return pin_pixel_input(converter.convert())
        return converter.convert()
    except Exception as err:  # noqa: BLE001 - the converter raises several kinds
        message = str(err)
        if "not supported" in message or "Flex" in message or "custom" in message.lower():
            raise ExportError(
                f"TFLite {quantization} export needs ops outside the builtin set: "
                f"{', '.join(_unsupported_ops(message))}. Set export.allow_flex_ops: true to "
                f"allow TensorFlow ops (larger runtime on the phone).\n{message[:2000]}"
            ) from None
        raise ExportError(f"TFLite {quantization} export failed: {message[:2000]}") from None


def check_quantizations(family, hp, quantizations) -> None:
    """Raises ExportError if the family cannot export this configuration at a requested quantization."""
    blocked = family.unsupported_quantizations(hp)
    for quantization in quantizations:
        if quantization in blocked:
            raise ExportError(f"family {family.info.name} with {dict(hp.values)}: "
                              f"TFLite {quantization} export: {blocked[quantization]}")


def _int8_with_float_ops(converter, float_ops, float_layers=()) -> bytes:
    """Calibrates, then quantizes every op to int8 except the `float_ops` types and the ops of
    the `float_layers`.

    This is TFLite's selective quantization (what `QuantizationDebugger` does
    with `denylisted_ops` and `denylisted_nodes`), without building its instrumented debug model.
    """
    import tensorflow as tf
    from tensorflow.lite.python import convert as tflite_convert

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.inference_input_type = converter.inference_output_type = tf.float32
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # noqa: SLF001 - the documented selective-quantization path
    calibrated = converter.convert()
    names = None
    if float_layers:
        calibrated, names = _without_statistics(calibrated, float_layers)
    float_ops = list(float_ops)
    for _ in range(3):
        content = tflite_convert.mlir_quantize(calibrated, fully_quantize=False, denylisted_ops=float_ops,
                                               denylisted_nodes=names)
        left = quantized_ops_in(content, float_layers)
        if not left:
            return content
        # Ops the quantizer still gives an int8 range from their neighbours (a top-k of scores):
        # their type is kept float everywhere.
        float_ops += [op for op in left if op not in float_ops]
    raise ExportError(f"TFLite int8: ops of the layers kept in float ({', '.join(float_layers)}) are quantized "
                      f"all the same: {', '.join(left)}")


def _without_statistics(calibrated: bytes, layers) -> tuple[bytes, list[str]]:
    """The calibrated model with no range recorded for the tensors the `layers`' ops make (a
    tensor without one stays float), and those tensors' names. Denying the layers' nodes by name
    alone left ops that only move values quantized (a detector's gathers and scatters: class 6
    read back as 5.99)."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(calibrated))
    names = []
    for graph in model.subgraphs:
        for index in _layer_outputs(graph, _layer_scope(layers)):
            tensor = graph.tensors[index]
            tensor.quantization = None
            names.append(tensor.name.decode())
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), sorted(names)


def _layer_outputs(graph, scope) -> set[int]:
    """Indices of the tensors that ops of the scope's layers make: ops that read or make a tensor
    named in the scope (a layer's last op may make the model's output, named otherwise)."""
    def named(index):
        return index >= 0 and bool(scope.search(graph.tensors[index].name.decode()))

    made = set()
    for op in graph.operators or []:
        inputs = list(op.inputs) if op.inputs is not None else []
        outputs = list(op.outputs) if op.outputs is not None else []
        if any(named(i) for i in inputs + outputs):
            made.update(i for i in outputs if i >= 0)
    return made


def quantized_ops_in(content: bytes, layers) -> list[str]:
    """The types of the ops of the Keras `layers` that compute in int8 (an int8 or uint8 output;
    the QUANTIZE and DEQUANTIZE at their edges aside)."""
    from ai_edge_litert import schema_py_generated as schema

    if not layers:
        return []
    model = read_flatbuffer(content)
    quantized = (schema.TensorType.INT8, schema.TensorType.UINT8)
    found = set()
    for graph in model.subgraphs or []:
        made = _layer_outputs(graph, _layer_scope(layers))
        for op in graph.operators or []:
            name = _op_name(model.operatorCodes[op.opcodeIndex])
            if name not in ("QUANTIZE", "DEQUANTIZE") and any(
                    i in made and graph.tensors[i].type in quantized for i in op.outputs):
                found.add(name)
    return sorted(found)


def _layer_scope(layers):
    import re

    if not layers:
        return None
    return re.compile(r"(^|/)(" + "|".join(re.escape(name) for name in layers) + r")(_\d+)?/")


def float_op_types(content: bytes) -> list[str]:
    """The types of the ops that compute in float in a .tflite file (a float32 output; DEQUANTIZE,
    whose output is float by definition, aside): in an int8 file, what stayed float, declared or
    reached by the quantizer's loop (`_int8_with_float_ops`)."""
    from ai_edge_litert import schema_py_generated as schema

    model = read_flatbuffer(content)
    found = set()
    for graph in model.subgraphs or []:
        for op in graph.operators or []:
            name = _op_name(model.operatorCodes[op.opcodeIndex])
            outputs = op.outputs if op.outputs is not None else []
            if name != "DEQUANTIZE" and any(i >= 0 and graph.tensors[i].type == schema.TensorType.FLOAT32
                                            for i in outputs):
                found.add(name)
    return sorted(found)


def read_flatbuffer(content: bytes):
    """A .tflite file's contents as LiteRT's schema objects (no interpreter: files no runtime here
    can open are read too)."""
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(bytearray(content), 0)


def pin_pixel_input(content: bytes) -> bytes:
    """A uint8-input file whose input reads pixel values as they are (scale 1, zero point 0).

    The converter sets the input's scale from the calibration images' range (10..200 would make
    it 0.78), and an app hands raw 0..255 pixels. The uint8 input feeds QUANTIZE ops only, which
    requantize to the int8 scale the model calibrated, so the scale can change without changing
    the model: only what its input means."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    graph = model.subgraphs[0]
    for index in graph.inputs:
        tensor = graph.tensors[index]
        if tensor.type != schema.TensorType.UINT8:
            continue
        consumers = [model.operatorCodes[op.opcodeIndex] for op in graph.operators if index in list(op.inputs)]
        if not consumers or any(max(c.builtinCode, c.deprecatedBuiltinCode) != schema.BuiltinOperator.QUANTIZE
                                for c in consumers):
            raise ExportError(f"TFLite int8: the uint8 input {tensor.name.decode()!r} does not go through QUANTIZE "
                              f"ops only, so its scale cannot be set to read raw pixel values")
        tensor.quantization.scale, tensor.quantization.zeroPoint = [1.0], [0]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def tflite_ops(model_bytes: bytes) -> list[str]:
    """The op names a TFLite model runs, read from its flatbuffer: builtin ops by their
    `BuiltinOperator` name, custom ops (Flex ops among them: `Flex<TensorFlow op>`) by their code.
    Read from the file, not from an interpreter, so a model no runtime here can open is counted too."""
    model = read_flatbuffer(model_bytes)
    used = {op.opcodeIndex for graph in model.subgraphs or [] for op in graph.operators or []}
    return sorted({_op_name(model.operatorCodes[index]) for index in used})


def flex_ops(ops: list[str]) -> list[str]:
    """The TensorFlow (Flex) ops among a model's op names: what a phone needs the larger runtime for."""
    return [op for op in ops if op.startswith("Flex")]


def _op_name(code) -> str:
    from ai_edge_litert import schema_py_generated as schema

    # Codes past 127 live in builtinCode only; older files keep small ones in the deprecated field.
    number = max(code.builtinCode, code.deprecatedBuiltinCode)
    if number == schema.BuiltinOperator.CUSTOM:
        return code.customCode.decode() if code.customCode else "CUSTOM"
    return _builtin_names().get(number, f"BUILTIN_{number}")


@functools.lru_cache(maxsize=1)
def _builtin_names() -> dict:
    """BuiltinOperator number -> name, built once on first use (the schema module is large)."""
    from ai_edge_litert import schema_py_generated as schema

    return {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}


def export_saved_model(model, path: Path, output_name: Optional[str] = None) -> None:
    """Writes a SavedModel whose `serve` signature runs the model in inference mode, its one output
    named `output_name` when given (else output_0).

    `model.export` leaves `training` unset, and nested backbones (keras.applications
    EfficientNet's stochastic-depth dropout) then keep random ops that TFLite lacks.
    """
    import keras
    import tensorflow as tf

    signature = keras.tree.map_structure(
        lambda t: tf.TensorSpec(t.shape, t.dtype, name=t.name.split(":")[0]), model.input)
    archive = keras.export.ExportArchive()
    archive.track(model)
    with _quantizable_softmax_masks():  # tracing happens in both calls
        archive.add_endpoint("serve", lambda inputs: named_output(model(inputs, training=False), output_name),
                             input_signature=[signature])
        archive.write_out(str(path), verbose=False)


def named_output(outputs, output_name: Optional[str]):
    """A model's outputs as a signature returns them: one output as {output_name: it} when named,
    so `get_signature_runner()` callers read it by a name that says what it is."""
    if output_name is None or isinstance(outputs, (dict, list, tuple)):
        return outputs
    return {output_name: outputs}


@contextlib.contextmanager
def _quantizable_softmax_masks(fill: float = MASKED_LOGIT):
    """Traces masked softmaxes (attention) with padded logits set to `fill`, not -1e9.

    int8 TFLite gives the logits one range shared with the masked value; with
    -1e9 every real logit rounds to the same number and attention turns uniform.
    exp(-32) beside any real logit is still nothing, so float outputs do not move
    (verify reports their agreement). Keras fills in two places: the Softmax
    layer and the TensorFlow backend's dot_product_attention.
    """
    import importlib

    import tensorflow as tf

    hooks = [("keras.src.layers.activations.softmax", "_large_negative_number", lambda dtype: fill),
             ("keras.src.backend.tensorflow.nn", "_get_large_negative", lambda dtype: tf.constant(fill, dtype))]
    patched = []
    try:
        for module_name, name, replacement in hooks:
            module = importlib.import_module(module_name)
            if hasattr(module, name):  # a Keras without the hook is traced as is
                patched.append((module, name, getattr(module, name)))
                setattr(module, name, replacement)
        yield
    finally:
        for module, name, original in patched:
            setattr(module, name, original)


def representative_stream(samples):
    """Yields one example at a time, as the converter wants: arrays or a dict of them.

    Several inputs go by name: a converted model may order them unlike the
    Keras model (tf_keras twins sort them), and a positional list would then
    calibrate one input on another's data.
    """
    if isinstance(samples, dict):
        names = list(samples)
        count = len(samples[names[0]])
        return lambda: ({n: samples[n][i:i + 1] for n in names} for i in range(count))
    return lambda: ([s[None].astype(np.float32)] for s in samples)


def is_keras3(model) -> bool:
    import keras

    return isinstance(model, keras.Model)


def twin_converter(twin, output_name: Optional[str] = None):
    """A converter factory for a tf_keras twin with batch size 1 (its one output named `output_name`
    when given)."""
    import tensorflow as tf

    names = [t.name.split(":")[0] for t in twin.inputs]
    specs = [tf.TensorSpec(t.shape, t.dtype, name=n) for t, n in zip(twin.inputs, names)]

    @tf.function(input_signature=specs)
    def serve(*inputs):
        return named_output(twin(dict(zip(names, inputs)) if len(names) > 1 else inputs[0]), output_name)

    def make():
        return tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], twin)

    return make
