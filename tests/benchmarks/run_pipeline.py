"""Runs a pipeline (or reads a finished run) and prints its figures.

Usage: python tests/benchmarks/run_pipeline.py PIPELINE.yaml RUN_DIR [--set k=v ...] [--report-only] [--smoke]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from automl.report.html import closeness_text


def _per_class(metrics: dict) -> str:
    """Segmentation's per-class IoU (foreground IoU is the second entry of two classes)."""
    return f"  per_class_iou={metrics['per_class_iou']}" if "per_class_iou" in metrics else ""


def summarize(report: dict) -> str:
    lines = [f"status: {report['status']}  task: {report['task']}",
             f"split: {report['dataset']['split_sizes']}",
             f"best: {report['best']['family']} {report['best']['hyperparameters']}",
             f"trials: {len(report['search']['trials'])} "
             f"(stopped by time limit: {report['search']['stopped_by_time_limit']})",
             "keras test: " + ", ".join(f"{k}={v:.4f}" for k, v in report["test_metrics"].items()
                                        if isinstance(v, float)) + _per_class(report["test_metrics"])]
    for name, metrics in report.get("baselines", {}).items():
        lines.append(f"baseline {name}: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()
                                                      if isinstance(v, float)) + _per_class(metrics))
    sizes = {}
    for e in report.get("exports", []):
        if e["format"] != "tflite":
            continue
        kind = e["quantization"] if e.get("compression", "none") == "none" else f"{e['compression']}_{e['quantization']}"
        if "bytes" not in e:  # a compression that failed made no file
            lines.append(f"tflite {kind:<8} failed: {e.get('error', '').splitlines()[-1:]}")
            continue
        sizes[kind] = e["bytes"]
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in e.get("test_metrics", {}).items() if isinstance(v, float))
        closeness = closeness_text(e.get("vs_keras"))
        left_out = f"  LEFT OUT: {e['rejected']}" if e.get("rejected") else ""
        gzipped = f" (gzip {e['gzip_bytes'] / 1024:.1f})" if "gzip_bytes" in e else ""
        lines.append(f"tflite {kind:<8} {e['bytes'] / 1024:8.1f} KiB{gzipped}  {metrics}  "
                     f"{closeness}  {e.get('latency_ms')} ms/example{_per_class(e.get('test_metrics', {}))}"
                     f"{left_out}")
    if "int8" in sizes and "float32" in sizes:
        lines.append(f"int8 / float32 size: {sizes['int8'] / sizes['float32']:.3f}")
    lines.append("timings (s): " + json.dumps(report["timings"]))
    lines.append("time limits (s): " + json.dumps(report.get("time_limits", {})))
    lines += [f"time note: {note}" for note in report.get("time_notes", [])]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    pipeline, run_dir, *rest = argv
    if "--smoke" in rest:  # one trial of one epoch, one file (tests/benchmarks/smoke.py)
        from smoke import toy_settings

        rest = [word for word in rest if word != "--smoke"] + toy_settings()
    if "--report-only" not in rest:
        started = time.time()
        code = subprocess.call([sys.executable, "-m", "automl", "run", pipeline, "--out", run_dir, *rest])
        print(f"wall: {time.time() - started:.1f} s (automl run, from start to exit)")
        if code not in (0, 1):
            return code
    print(summarize(json.loads((Path(run_dir) / "report.json").read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
