"""Writes the model as .keras, SavedModel and TFLite (float32, float16, dynamic, int8).

TFLite models use builtin ops only unless `export.allow_flex_ops` is set; a
model that needs a TensorFlow op fails here, naming the op.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import shutil
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from automl.compression.stage import compressed_exports, gzip_size
from automl.errors import ExportError
from automl.progress import say

#: Logit given to padded positions in exported masked softmaxes.
MASKED_LOGIT = -32.0

PACKAGES = ("automl", "tensorflow", "keras", "keras-tuner", "ai-edge-litert", "numpy")


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _unsupported_ops(message: str) -> list[str]:
    """Op names a failed TFLite conversion complains about."""
    ops = set(re.findall(r"'?tf\.(\w+)'?", message))
    return sorted(ops) or ["(see the converter message)"]


def convert_tflite(source, quantization: str, representative, allow_flex: bool,
                   float_inputs: bool = True, float_ops: tuple = ()) -> bytes:
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
            converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif quantization not in ("float32", "int4"):
        raise ExportError(f"Unknown quantization. Received: quantization={quantization!r}")
    if allow_flex:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    try:
        if quantization == "int8" and float_ops:
            return _int8_with_float_ops(converter, float_ops)
        if quantization == "int4":
            from automl.int4 import int4_weights

            return int4_weights(converter.convert())
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


def _int8_with_float_ops(converter, float_ops) -> bytes:
    """Calibrates, then quantizes every op to int8 except the `float_ops` types.

    This is TFLite's selective quantization (what `QuantizationDebugger` does
    with `denylisted_ops`), without building its instrumented debug model.
    """
    import tensorflow as tf
    from tensorflow.lite.python import convert as tflite_convert

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.inference_input_type = converter.inference_output_type = tf.float32
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # noqa: SLF001 - the documented selective-quantization path
    calibrated = converter.convert()
    return tflite_convert.mlir_quantize(calibrated, fully_quantize=False, denylisted_ops=list(float_ops))


def tflite_ops(model_bytes: bytes) -> list[str]:
    """The op names in a TFLite model, read by LiteRT without delegates."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_content=model_bytes,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


def export_saved_model(model, path: Path) -> None:
    """Writes a SavedModel whose `serve` signature runs the model in inference mode.

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
        archive.add_endpoint("serve", lambda inputs: model(inputs, training=False), input_signature=[signature])
        archive.write_out(str(path), verbose=False)


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


def _representative(samples):
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


def _is_keras3(model) -> bool:
    import keras

    return isinstance(model, keras.Model)


def _twin_source(twin):
    """A converter factory for a tf_keras twin with batch size 1."""
    import tensorflow as tf

    names = [t.name.split(":")[0] for t in twin.inputs]
    specs = [tf.TensorSpec(t.shape, t.dtype, name=n) for t, n in zip(twin.inputs, names)]

    @tf.function(input_signature=specs)
    def serve(*inputs):
        return twin(dict(zip(names, inputs)) if len(names) > 1 else inputs[0])

    def make():
        return tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], twin)

    return make


def export_models(model, task, data, config, out_dir: Path, hp=None, family=None,
                  export_dir: Path | None = None, trained=None,
                  inference: dict | None = None) -> tuple[list[dict], Path]:
    """Writes every requested format into `export_dir` (default out_dir/export); one row per file.
    `trained` (the model as trained, before `task.inference_model`) is what `export.compression`
    fine-tunes further; without it no compressed file is made. `inference` (what
    `task.inference_model` chose) is how the compressed files run it too."""
    cfg = config.export
    export_dir = export_dir or out_dir / "export"
    if export_dir.exists():
        shutil.rmtree(export_dir)
    export_dir.mkdir(parents=True)
    rows = []
    if "keras" in cfg.formats:
        path = export_dir / "model.keras"
        model.save(path)
        rows.append({"path": str(path), "format": "keras", "compression": "none", "bytes": path.stat().st_size,
                     "gzip_bytes": gzip_size(path.read_bytes())})
    saved_model = export_dir / "saved_model"
    if "saved_model" in cfg.formats or "tflite" in cfg.formats:
        export_saved_model(model, saved_model)
        if "saved_model" in cfg.formats:
            files = [p for p in saved_model.rglob("*") if p.is_file()]
            rows.append({"path": str(saved_model), "format": "saved_model", "compression": "none",
                         "bytes": sum(p.stat().st_size for p in files),
                         "gzip_bytes": sum(gzip_size(p.read_bytes()) for p in files)})  # each file gzipped
    if "tflite" in cfg.formats:
        samples = task.representative_inputs(data, cfg.representative_examples, config.seed, hp)
        float_inputs = not isinstance(samples, dict)
        source, representative, note = saved_model, _representative(samples), None
        twin_model = family.tflite_twin(model, hp, task, data) if family is not None else None
        if twin_model is not None:
            if _is_keras3(twin_model):
                # Concrete functions of Keras 3 models keep variables that int8 calibration
                # cannot read; a SavedModel freezes them.
                source = export_dir / "twin_saved_model"
                export_saved_model(twin_model, source)
            else:
                source = _twin_source(twin_model)
            note = family.twin_note
        if family is not None:
            check_quantizations(family, hp, cfg.quantizations)
        for quantization in cfg.quantizations:
            say("export", f"TFLite {quantization}")
            family_ops = family.int8_float_ops if family is not None else ()
            float_ops = (*family_ops, *task.int8_float_ops) if quantization == "int8" else ()
            content = convert_tflite(source, quantization, representative, cfg.allow_flex_ops, float_inputs,
                                     float_ops)
            path = export_dir / f"model_{quantization}.tflite"
            path.write_bytes(content)
            ops = tflite_ops(content) if not cfg.allow_flex_ops else []
            row = {"path": str(path), "format": "tflite", "quantization": quantization, "compression": "none",
                   "bytes": len(content), "gzip_bytes": gzip_size(content), "ops": ops,
                   "flex_ops": [op for op in ops if op.startswith("Flex")]}
            if float_ops:
                row["float_ops"] = list(float_ops)
            if quantization == "int4":
                from automl.int4 import float_weights

                row["float_weights"] = float_weights(content)
            if note:
                row["note"] = note
            rows.append(row)
        if "saved_model" not in cfg.formats:
            shutil.rmtree(saved_model)
        shutil.rmtree(export_dir / "twin_saved_model", ignore_errors=True)
        if cfg.compression.techniques and trained is not None:
            rows += compressed_exports(trained, task, data, config, hp, export_dir, out_dir / "compression",
                                       inference)
    task.preprocessor(data, hp).save(export_dir)
    _write_bundle_files(export_dir, task, data, config, rows, hp)
    return rows, export_dir


def _write_bundle_files(export_dir: Path, task, data, config, rows, hp=None) -> None:
    task_meta = task.metadata(data, hp)
    labels = task_meta.get("labels")
    if labels:
        (export_dir / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    files = []
    for row in rows:
        if row.get("rejected"):
            continue
        entry = {k: v for k, v in row.items() if k not in ("ops", "stages")} | {"path": Path(row["path"]).name}
        if row.get("compression", "none") != "none":  # its own int8 scales, unlike model_int8.tflite's
            entry["int8_io"] = int8_io(Path(row["path"]))
        files.append(entry)
    meta = {"task": config.task, **task_meta, "files": files, "versions": package_versions()}
    for row in rows:
        if row.get("quantization") == "int8" and row.get("compression", "none") == "none":
            meta["int8_io"] = int8_io(Path(row["path"]))
    (export_dir / "metadata.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def remove_from_bundle(export_dir: Path, rows: list[dict]) -> None:
    """Deletes rejected model files and lists them in metadata.json as left out, with why."""
    meta_path = export_dir / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    names = {Path(row["path"]).name: row["rejected"] for row in rows}
    for row in rows:
        Path(row["path"]).unlink(missing_ok=True)
    meta["files"] = [f for f in meta["files"] if f["path"] not in names]
    meta["left_out"] = [{"path": name, "reason": reason} for name, reason in names.items()]
    if not any(f.get("quantization") == "int8" for f in meta["files"]):
        meta.pop("int8_io", None)
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")


def int8_io(path: Path) -> dict:
    """Scale and zero point of an int8 model's input and output, for phone code."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    out = {}
    for kind, details in (("input", interpreter.get_input_details()[0]),
                          ("output", interpreter.get_output_details()[0])):
        scale, zero_point = details["quantization"]
        out[kind] = {"dtype": np.dtype(details["dtype"]).name, "scale": float(scale),
                     "zero_point": int(zero_point)}
    return out
