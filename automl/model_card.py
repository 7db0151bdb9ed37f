"""The bundle's model card (README.md beside the .tflite files) and the bundle as one zip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from automl.app_snippets import app_section, litert_section
from automl.readable import number, phrase
from automl.report.html import closeness_text

#: Files in a bundle that the zip leaves out (big, and not what a phone runs).
NOT_ZIPPED = ("saved_model", "model.keras")


def write_model_card(export_dir: Path, report: dict, rows: list[dict], source: str) -> Path:
    """README.md in `export_dir`: data (`source`), split, metrics per file, intended input, how to
    run it. `report` is the run's report (its name, task, dataset, best, test_metrics...)."""
    meta = json.loads((export_dir / "metadata.json").read_text(encoding="utf-8"))
    headline = report.get("headline_metric", "accuracy")
    keras_metrics = report.get("test_metrics", {})
    dataset = report.get("dataset", {})
    best = report.get("best", {})
    lines = [f"# {report.get('name') or report.get('task')}: {report.get('task', meta.get('task'))} model for LiteRT",
             "",
             "Made by automl. Every `.tflite` file here was run on the LiteRT interpreter over the whole "
             "held-out test split; the figures below are those runs.",
             "",
             "## Data",
             "",
             f"- Source: `{source}`",
             f"- Split (seeded): {phrase(dataset.get('split_sizes', {}))}",
             f"- Model: {best.get('family', '?')} with {phrase(best.get('hyperparameters', {}))}",
             f"- Keras model on the test split: "
             f"{', '.join(f'{k} {number(v)}' for k, v in keras_metrics.items() if isinstance(v, float))}",
             ""]
    if report.get("inference_text"):
        lines += [f"- Inference: {report['inference_text']}", ""]
    in_mediapipe = any("mediapipe" in row for row in rows)
    lines += ["## Files", "",
              f"| file | quantization | compression | bytes | gzip bytes | test {headline} | against Keras "
              f"| ms per example |{' in MediaPipe Tasks |' if in_mediapipe else ''}",
              f"|---|---|---|---|---|---|---|---|{'---|' if in_mediapipe else ''}"]
    for row in rows:
        if row.get("format") != "tflite" or row.get("rejected"):
            continue
        metric = row.get("test_metrics", {}).get(headline)
        lines.append(f"| {Path(row['path']).name} | {row.get('quantization', '')} | {row.get('compression', 'none')} "
                     f"| {row.get('bytes', '')} | {row.get('gzip_bytes', '')} "
                     f"| {'' if metric is None else f'{metric:.4f}'} "
                     f"| {closeness_text(row.get('vs_keras'))} | {row.get('latency_ms', '')} |"
                     + (f" {mediapipe_text(row.get('mediapipe'))} |" if in_mediapipe else ""))
    if (report.get("inference") or {}).get("used") and any(r.get("compression", "none") != "none" for r in rows):
        lines += ["", "Compressed files run the model as trained, without the inference wrapper above."]
    left_out = [row for row in rows if row.get("rejected")]
    if left_out:
        lines += ["", "Left out of this bundle:", ""]
        lines += [f"- {Path(row['path']).name}: {row['rejected'].splitlines()[0]}" for row in left_out]
    shape = meta.get("input", {}).get("shape") or []
    input_note = (f"MediaPipe resizes each frame to the model's {shape[2]}x{shape[1]} pixels itself."
                  if len(shape) == 4 else "")
    tokenizer = meta.get("tokenizer") or {}
    if tokenizer.get("kind") == "wordpiece":
        input_note = (f"MediaPipe tokenizes each text itself with the WordPiece vocabulary inside the file "
                      f"(lowercased; the first {tokenizer['sequence_length'] - 2} word pieces are read).")
    lines += ["", *app_section(report.get("mediapipe_task"), rows, input_note)]
    smallest = _smallest(rows)
    lines += ["", "## Input and output", "",
              "```json", json.dumps({k: meta[k] for k in ("input", "inputs", "tokenizer", "output", "int8_io") if k in meta},
                                         indent=2), "```",
              "", "`labels.txt` names the classes in output order." if (export_dir / "labels.txt").exists() else "",
              "", *(litert_section(export_dir / smallest) if smallest else []),
              "Or, with automl installed: `automl predict RUN_DIR INPUT...` (the bundle's preprocessing, LiteRT, "
              "no TensorFlow).", ""]
    path = export_dir / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def mediapipe_text(found: dict | None) -> str:
    """A row's MediaPipe Tasks finding for a table cell: agreement with Keras, or why it did not run."""
    if not found:
        return ""
    if "vs_keras" in found:
        return f"{found['task']}: {closeness_text(found['vs_keras'])}"
    return found.get("error") or f"not run: {found.get('skipped')}"


def _smallest(rows: list[dict]) -> str | None:
    kept = [row for row in rows if row.get("format") == "tflite" and not row.get("rejected") and row.get("bytes")]
    return Path(min(kept, key=lambda row: row["bytes"])["path"]).name if kept else None


def zip_bundle(export_dir: Path, target: Path | None = None, name: str | None = None) -> Path:
    """`<export_dir>.zip` beside the folder (or `target`): its files but the SavedModel and .keras
    copies, under `name` (default the folder's: a staged folder is zipped under its final name)."""
    target = target or export_dir.with_name(export_dir.name + ".zip")
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(export_dir.rglob("*")):
            relative = path.relative_to(export_dir)
            if path.is_file() and relative.parts[0] not in NOT_ZIPPED:
                archive.write(path, Path(name or export_dir.name) / relative)
    partial.replace(target)
    return target
