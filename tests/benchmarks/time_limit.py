"""Is `time_limit` kept and spent? Runs `automl run` with a run-wide time limit and prints the wall
time from the command's start to its end, the stages' seconds, each stage's limit and the time left
unused, with what ended the search and the fine-tuning.

Usage: python tests/benchmarks/time_limit.py PIPELINE.yaml RUN_DIR TIME_LIMIT [--set k=v ...] [--smoke]
e.g.   python tests/benchmarks/time_limit.py pipelines/quickstart.yaml /tmp/q40 40s
--smoke: 300 images and one exported file (the limit is still the one given, and spent).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    pipeline, run_dir, limit, *extra = argv
    if "--smoke" in extra:
        from smoke import TOY_IMAGES

        extra = [word for word in extra if word != "--smoke"] + [
            "--set", f"data.max_examples={TOY_IMAGES}", "--set", "export.formats=[tflite]",
            "--set", "export.quantizations=[float32]"]
    run = Path(run_dir)
    shutil.rmtree(run, ignore_errors=True)
    command = [sys.executable, "-m", "automl", "run", pipeline, "--out", str(run), "--set", f"time_limit={limit}",
               *extra]
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.time() - started
    print(f"command: {' '.join(command[2:])}")
    print(f"exit {done.returncode}; wall {wall:.1f} s")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    if errors:
        print("\n".join(errors))
    report_path = run / "report.json"
    if not report_path.exists():
        report_path = run / "report.partial.json"
    if not report_path.exists():
        return done.returncode
    report = json.loads(report_path.read_text())
    seconds = report.get("time_limits", {}).get("run")
    print(f"status {report['status']}; test {report.get('headline_metric')}="
          f"{report.get('test_metrics', {}).get(report.get('headline_metric'))}")
    print(f"stage seconds: {report.get('timings')}")
    print(f"stage limits:  {report.get('time_limits')}")
    if seconds:
        print(f"wall against the limit: {wall:.1f} / {seconds:.0f} s = {wall / seconds:.3f}; "
              f"unused {max(0.0, seconds - wall):.1f} s ({max(0.0, seconds - wall) / seconds:.1%})")
    search, tuned = report.get("search", {}), report.get("finetune", {})
    print(f"search: {len(search.get('trials', []))} trial(s), stopped by its time limit: "
          f"{search.get('stopped_by_time_limit')}")
    print(f"finetune: {tuned.get('epochs_run')} epoch(s), stopped by its time limit: "
          f"{tuned.get('stopped_by_time_limit')}, early: {tuned.get('stopped_early')}")
    for note in report.get("time_notes", []):
        print(f"note: {note}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
