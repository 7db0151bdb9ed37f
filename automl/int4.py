"""int4 .tflite files, made from the float32 file with Google's ai-edge-quantizer.

Large constant weights become 4-bit integers; activations stay float:
- fully connected layers (and EMBEDDING_LOOKUP): a scale per block of 32 weights, run by
  LiteRT's dynamic-range kernels (activations quantized on the fly). Measured on MiniLM
  (Rotten Tomatoes, 2,562 test reviews, Keras 0.7662): blocks of 32 kept 0.7596, one scale
  per output channel 0.7358 (0.7412 with the weights dequantized to float in the graph, and
  ten times the latency);
- convolutions: a scale per output channel, dequantized in the graph (weight-only: the
  blockwise recipes do not cover them);
- tables read by GATHER, which is what the TFLite converter makes of a Keras `Embedding`
  (MiniLM's token table is half of its weights) and which ai-edge-quantizer's recipes do not
  cover: a scale per row, dequantized in the graph, through ai-edge-quantizer's own flatbuffer
  transformations (MiniLM: 0.7639 with only its table in int4).
`float_weights` says what is left in float.
"""

from __future__ import annotations

import re

import numpy as np

#: Weights smaller than this stay float: biases, norms and small heads are a rounding error of
#: the file, and they are what int4 rounds worst.
MIN_ELEMENTS = 1024
INT4_LEVELS = 7  # symmetric: codes -7..7 (and -8, never used)
BLOCK = 32


def int4_weights(float_content: bytes) -> bytes:
    """The int4 version of a float32 .tflite file."""
    import contextlib
    import io

    from ai_edge_quantizer import qtyping, quantizer

    plan = _int4_plan(float_content)
    if not plan:  # e.g. a bag of n-grams: its one large weight is a GATHER table, done below
        return _int4_gather_tables(float_content)
    recipe = quantizer.Quantizer(bytearray(float_content))
    for output_name, op, kind, granularity in plan:
        # ai-edge-quantizer matches an op's scope: its output names, each followed by ";".
        getattr(recipe, f"add_{kind}_config")(f"^{re.escape(output_name)};", getattr(qtyping.TFLOperationName, op),
                                              4, getattr(qtyping.QuantGranularity, granularity))
    # Its size summary and progress bars would cut into our progress lines.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        quantized = bytes(recipe.quantize().quantized_model)
    return _int4_gather_tables(quantized)


def int4_note(content: bytes) -> str | None:
    """What the report should say of an int4 file none of whose weights are int4 (a model whose
    weights are all small), else None."""
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_quantizer import qtyping

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    if any(tensor.type == qtyping.TensorType.INT4 for subgraph in model.subgraphs for tensor in subgraph.tensors):
        return None
    return (f"no weight here is large enough for int4 (at least {MIN_ELEMENTS} elements in a fully connected, "
            f"convolution, embedding or gather op): the file holds the float32 weights")


def _int4_plan(content: bytes) -> list[tuple[str, str, str, str]]:
    """(output tensor name, op type, recipe kind, granularity) per op whose weights go int4."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    names = _op_names()
    plan = []
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode))
            if kind not in ("FULLY_CONNECTED", "CONV_2D", "EMBEDDING_LOOKUP") or len(op.inputs) < 2:
                continue
            weights = subgraph.tensors[op.inputs[1]]
            if _constant(model, weights) is None or int(np.prod(weights.shape)) < MIN_ELEMENTS:
                continue
            output = subgraph.tensors[op.outputs[0]].name.decode()
            if kind == "FULLY_CONNECTED" and weights.shape[-1] % BLOCK == 0:
                plan.append((output, kind, "dynamic", f"BLOCKWISE_{BLOCK}"))
            elif kind == "EMBEDDING_LOOKUP":
                plan.append((output, kind, "dynamic", "CHANNELWISE"))
            else:  # the blockwise recipes need whole blocks and cover no convolution
                plan.append((output, kind, "weight_only", "CHANNELWISE"))
    return plan


def _int4_gather_tables(content: bytes) -> bytes:
    """`content` with every large float table read by GATHER stored as int4 (a scale per row)."""
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_quantizer import qtyping
    from ai_edge_quantizer.transformations import dequant_insert, transformation_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    for subgraph in model.subgraphs:
        while True:  # one table at a time: each DEQUANTIZE inserted moves the ops after it
            found = _float_gather_table(model, subgraph)
            if found is None:
                break
            tensor_id, consumers = found
            table = _constant(model, subgraph.tensors[tensor_id])
            scale = np.maximum(np.abs(table).max(axis=1), 1e-12) / INT4_LEVELS
            codes = np.clip(np.round(table / scale[:, None]), -INT4_LEVELS, INT4_LEVELS).astype(np.int8)
            params = qtyping.UniformQuantParams(
                num_bits=4, quantized_dimension=0, scale=scale.astype(np.float32),
                zero_point=np.zeros(len(scale), np.int32), symmetric=True, quantized_data=codes)
            dequant_insert.insert_dequant(transformation_utils.TransformationInput(
                tensor_id=tensor_id, model=model, subgraph=subgraph, producer=-1, consumers=consumers,
                quant_params=params))
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _float_gather_table(model, subgraph):
    """(tensor id, ids of the GATHER ops reading it) of one large constant float table, or None."""
    from ai_edge_quantizer import qtyping

    gathers = {i for i, code in enumerate(model.operatorCodes)
               if max(code.builtinCode, code.deprecatedBuiltinCode) == qtyping.BuiltinOperator.GATHER}
    consumers: dict[int, list[int]] = {}
    for op_id, op in enumerate(subgraph.operators):
        if op.opcodeIndex not in gathers:
            continue
        tensor = subgraph.tensors[op.inputs[0]]
        if (tensor.type == qtyping.TensorType.FLOAT32 and len(tensor.shape) == 2
                and int(np.prod(tensor.shape)) >= MIN_ELEMENTS and _constant(model, tensor) is not None):
            consumers.setdefault(op.inputs[0], []).append(op_id)
    for tensor_id, ops in consumers.items():
        readers = [i for i, op in enumerate(subgraph.operators) if tensor_id in op.inputs]
        if readers == ops:  # a table also read by another op is left as it is
            return tensor_id, ops
    return None


def _op_names() -> dict[int, str]:
    """TFLite builtin op code -> its name (FULLY_CONNECTED, GATHER, ...)."""
    from ai_edge_quantizer import qtyping

    return {value: name for name, value in vars(qtyping.BuiltinOperator).items() if isinstance(value, int)}


def _constant(model, tensor):
    data = model.buffers[tensor.buffer].data if tensor.buffer else None
    if data is None or not len(data):
        return None
    return np.frombuffer(np.asarray(data, np.uint8).tobytes(), np.float32).reshape(tensor.shape)


def float_weights(content: bytes) -> dict[str, int]:
    """Op type -> float32 weights (constant tensors of at least MIN_ELEMENTS) it still reads."""
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_quantizer import qtyping

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    names = _op_names()
    left: dict[str, int] = {}
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            for tensor_id in op.inputs:
                tensor = subgraph.tensors[tensor_id] if tensor_id >= 0 else None
                if (tensor is not None and tensor.type == qtyping.TensorType.FLOAT32
                        and int(np.prod(tensor.shape)) >= MIN_ELEMENTS and _constant(model, tensor) is not None):
                    name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
                    left[name] = left.get(name, 0) + int(np.prod(tensor.shape))
    return left
