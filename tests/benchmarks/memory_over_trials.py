"""Resident memory of the search over many trials: flat when each trial's models and graphs are
released (issue 16: after trial 20 within 10% of after trial 5).

Runs the quickstart pipeline (its 1,000 Fashion-MNIST images) with 20 one-epoch trials and no
fine-tuning, then prints the process's resident memory as each trial ended (the search keeps it
per trial, `resident_mb` in report.json).

Usage: python tests/benchmarks/memory_over_trials.py [--trials 20] [--out /tmp/memory_run] [--set KEY=VALUE] [--smoke]

The environment passes through: TF_ENABLE_ONEDNN_OPTS=0 shows what of the growth is TensorFlow's
oneDNN kernel cache (keyed by layer shapes) rather than trials kept alive (2026-12-04, quickstart:
ratio 1.075 with oneDNN, 1.007 without).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("/tmp/memory_over_trials"))
    parser.add_argument("--set", action="append", default=[], help="more config overrides (KEY=VALUE)")
    parser.add_argument("--smoke", action="store_true", help="two trials on 300 images")
    args = parser.parse_args()
    if args.smoke:
        args.trials, args.set = 2, [*args.set, "data.max_examples=300"]
    started = time.time()
    command = [sys.executable, "-m", "automl", "run", str(ROOT / "pipelines" / "quickstart.yaml"),
               "--out", str(args.out), "--set", f"search.max_trials={args.trials}", "--set", "search.epochs=1",
               "--set", "search.time_limit=30m", "--set", "time_limit=60m", "--set", "finetune.enabled=false",
               "--set", "search.strategy=random", "--set", "export.quantizations=[float32]"]
    for setting in args.set:
        command += ["--set", setting]
    subprocess.run(command, check=True)
    trials = json.loads((args.out / "report.json").read_text())["search"]["trials"]
    resident = [t.get("resident_mb") for t in trials]
    for t in trials:
        print(f"{t['trial_id']:>20}  {t['status']:>9}  {t.get('params') or 0:>9} params  {t.get('resident_mb')} MB")
    if len(resident) >= 20 and resident[4] and resident[19]:
        print(f"after trial 5: {resident[4]} MB, after trial 20: {resident[19]} MB, "
              f"ratio {resident[19] / resident[4]:.3f} (gate: at most 1.10); {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
