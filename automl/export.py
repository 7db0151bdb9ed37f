"""Writes the model as .keras, SavedModel and TFLite (float32, float16, dynamic, int8, int4), with
the bundle's metadata.json and labels; the conversion itself is `automl/convert.py`.

TFLite models use builtin ops only unless `export.allow_flex_ops` is set; a
model that needs a TensorFlow op fails here, naming the op.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from automl.compression.stage import compressed_exports, gzip_size
from automl.convert import (check_quantizations, convert_tflite, export_saved_model, flex_ops, float_op_types,
                            is_keras3, representative_stream, tflite_ops, twin_converter)
from automl.app_metadata.packing import with_metadata
from automl.progress import say
from automl.versions import package_versions

def export_models(model, task, data, config, out_dir: Path, hp=None, family=None,
                  export_dir: Path | None = None, trained=None,
                  inference: dict | None = None) -> tuple[list[dict], Path]:
    """Writes every requested format into `export_dir` (default out_dir/export); one row per file.
    `trained` (the model as trained, before `task.inference.choose`) is what `export.compression`
    fine-tunes further; without it no compressed file is made. `inference` (what
    `task.inference.choose` chose) is how the compressed files run it too."""
    cfg = config.export
    export_dir = export_dir or out_dir / "export"
    if export_dir.exists() and any(export_dir.iterdir()):  # callers pass a folder of their own, new
        raise FileExistsError(f"{export_dir} is not empty: a bundle is written only into a new folder")
    export_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    if "keras" in cfg.formats:
        path = export_dir / "model.keras"
        model.save(path)
        rows.append({"path": str(path), "format": "keras", "compression": "none", "bytes": path.stat().st_size,
                     "gzip_bytes": gzip_size(path.read_bytes())})
    saved_model = export_dir / "saved_model"
    if "saved_model" in cfg.formats or "tflite" in cfg.formats:
        export_saved_model(model, saved_model, task.inference.output_name)
        if "saved_model" in cfg.formats:
            files = [p for p in saved_model.rglob("*") if p.is_file()]
            rows.append({"path": str(saved_model), "format": "saved_model", "compression": "none",
                         "bytes": sum(p.stat().st_size for p in files),
                         "gzip_bytes": sum(gzip_size(p.read_bytes()) for p in files)})  # each file gzipped
    if "tflite" in cfg.formats:
        samples = task.representative_inputs(data, cfg.representative_examples, config.seed, hp)
        float_inputs = not isinstance(samples, dict)
        source, representative, note = saved_model, representative_stream(samples), None
        twin_model = family.tflite_twin(model, hp, task, data) if family is not None else None
        if twin_model is not None:
            if is_keras3(twin_model):
                # Concrete functions of Keras 3 models keep variables that int8 calibration
                # cannot read; a SavedModel freezes them.
                source = export_dir / "twin_saved_model"
                export_saved_model(twin_model, source, task.inference.output_name)
            else:
                source = twin_converter(twin_model, task.inference.output_name)
            note = family.twin_note
        if family is not None:
            check_quantizations(family, hp, cfg.quantizations)
        # Labels, normalization and what else apps read from the file itself: the same for every file.
        described = task.inference.tflite_metadata(data, hp, config)
        for quantization in cfg.quantizations:
            say("export", f"TFLite {quantization}")
            family_ops = family.int8_float_ops if family is not None else ()
            float_ops = (*family_ops, *task.inference.int8_float_ops) if quantization == "int8" else ()
            float_layers = task.inference.int8_float_layers if quantization == "int8" else ()
            content = convert_tflite(source, quantization, representative, cfg.allow_flex_ops, float_inputs,
                                     float_ops, task.inference.int8_io(data), float_layers)
            if described:
                content = with_metadata(content, *described)
            path = export_dir / f"model_{quantization}.tflite"
            path.write_bytes(content)
            ops = tflite_ops(content)
            row = {"path": str(path), "format": "tflite", "quantization": quantization, "compression": "none",
                   "bytes": len(content), "gzip_bytes": gzip_size(content), "ops": ops, "flex_ops": flex_ops(ops)}
            if float_ops or float_layers:
                # What stayed float in the file: the declared types, and those the quantizer reached.
                row["float_ops"] = float_op_types(content)
            if float_layers:
                row["float_layers"] = list(float_layers)
            notes = [note] if note else []
            if quantization == "int4":
                from automl.int4 import float_weights, int4_note

                row["float_weights"] = float_weights(content)
                notes += [text for text in [int4_note(content)] if text]
            if notes:
                row["note"] = "; ".join(notes)
            rows.append(row)
        if "saved_model" not in cfg.formats:
            shutil.rmtree(saved_model)
        shutil.rmtree(export_dir / "twin_saved_model", ignore_errors=True)
        if cfg.compression.techniques and trained is not None:
            rows += compressed_exports(trained, task, data, config, hp, export_dir, export_dir / ".compression",
                                       inference, described)
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
    """Scale and zero point of an int8 model's input and output (every output by name when it has
    several), for phone code."""
    from automl.verify import LiteRTModel

    model = LiteRTModel(path)

    def described(detail) -> dict:
        scale, zero_point = detail["quantization"]
        return {"dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero_point)}

    out = {"input": described(model.input), "output": described(model.output)}
    if len(model.outputs) > 1:
        out["outputs"] = {name: described(detail) for name, detail in model.outputs.items()}
    return out
