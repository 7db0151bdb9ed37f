"""Issue 15's gates from a finished run's report (or a re-export's report.json): for each
compressed int8 file, its gzip size against the post-training int8 file's, its sparsity or
clusters, and its LiteRT test metric against the float Keras model's.

Usage:
    python tests/benchmarks/compression_gates.py runs/fashion_mnist_pqat/report.json
    python tests/benchmarks/compression_gates.py runs/fashion_mnist/export-2/report.json \
        --ptq runs/fashion_mnist/report.json
    python tests/benchmarks/compression_gates.py --smoke RUN_DIR   # a toy quickstart pruned, then its gates
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def rows_of(path: Path) -> tuple[list[dict], dict, str]:
    report = json.loads(path.read_text())
    headline = report.get("headline_metric", "accuracy")
    return report["exports"], report["test_metrics"], headline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("report", type=Path, help="a report.json (with --smoke: the run directory to make)")
    parser.add_argument("--ptq", type=Path, help="the report holding the post-training int8 row (default: the same)")
    parser.add_argument("--smoke", action="store_true", help="one epoch of pruning on a toy quickstart run first")
    args = parser.parse_args()
    if args.smoke:
        import subprocess
        import sys

        from smoke import QUICKSTART, TOY_IMAGES, toy_settings

        subprocess.run([sys.executable, "-m", "automl", "run", str(QUICKSTART), "--out", str(args.report),
                        *toy_settings(f"data.max_examples={TOY_IMAGES}", "export.quantizations=[int8]",
                                      "export.compression.techniques=[prune]", "export.compression.epochs.prune=1")],
                       check=True)
        args.report = args.report / "report.json"
    rows, keras_metrics, headline = rows_of(args.report)
    ptq_rows = rows_of(args.ptq)[0] if args.ptq else rows
    ptq = next((r for r in ptq_rows if r.get("quantization") == "int8" and r.get("compression", "none") == "none"),
               None)
    print(f"Keras {headline}: {keras_metrics[headline]:.4f}")
    print(f"{'file':34}{'bytes':>10}{'gzip':>10}{'gzip/PTQ':>10}{'sparsity':>10}{'clusters':>9}"
          f"{headline:>10}{'drop':>8}{'ms':>8}")
    for row in rows:
        if row.get("format") != "tflite" or "test_metrics" not in row:
            if row.get("error"):
                print(f"{Path(row['path']).name:34} failed: {row['error'].splitlines()[-1]}")
            continue
        ratio = row["gzip_bytes"] / ptq["gzip_bytes"] if ptq and row.get("gzip_bytes") else float("nan")
        metric = row["test_metrics"][headline]
        print(f"{Path(row['path']).name:34}{row['bytes']:>10}{row.get('gzip_bytes', 0):>10}{ratio:>10.3f}"
              f"{row.get('sparsity') if row.get('sparsity') is not None else '':>10}"
              f"{row.get('clusters') if row.get('clusters') is not None else '':>9}"
              f"{metric:>10.4f}{keras_metrics[headline] - metric:>8.4f}{row.get('latency_ms', 0):>8.3f}")


if __name__ == "__main__":
    main()
