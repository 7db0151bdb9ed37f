"""automl against AutoKeras 3.0.0 on scikit-learn's digits, at matched wall-clock, in one run.

The split is the issue's: `train_test_split(test_size=0.2, stratify=y, random_state=0)` of
`load_digits` (1,437 train / 360 test, 8x8 grey, 10 classes), written as an .npz that automl
reads with its own test part. Prints test accuracy, wall time and model bytes for both.

AutoKeras needs its own virtual environment (keras 3.12.4; pip's newest keras fails with it):

    python3 -m venv /tmp/ak && /tmp/ak/bin/pip install autokeras==3.0.0 keras==3.12.4 "tensorflow==2.20.*" tensorboard

Usage:
    python tests/benchmarks/digits_peer.py OUT_DIR [--time-limit 3m] [--autokeras /tmp/ak/bin/python] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_AUTOKERAS = r'''
import json, os, sys, time
import numpy as np
import autokeras as ak
npz, out = sys.argv[1], sys.argv[2]
d = np.load(npz)
x_train, y_train, x_test, y_test = (d[k] for k in ("x_train", "y_train", "x_test", "y_test"))
start = time.time()
# AutoKeras has no time limit of its own: search one more trial at a time (the project resumes),
# and after each, append the best model's test figures; the caller stops it at the budget.
for max_trials in range(1, 100):
    clf = ak.ImageClassifier(max_trials=max_trials, overwrite=False, directory=out, project_name="digits", seed=0)
    clf.fit(x_train[..., None], y_train, epochs=10, verbose=0)
    model = clf.export_model()
    accuracy = float(np.mean(clf.predict(x_test[..., None], verbose=0).astype(int).ravel() == y_test))
    model.save(f"{out}/best.keras")
    with open(f"{out}/results.jsonl", "a") as results:
        results.write(json.dumps({"accuracy": accuracy, "seconds": time.time() - start, "trials": max_trials,
                                  "bytes": os.path.getsize(f"{out}/best.keras"),
                                  "params": int(model.count_params())}) + "\n")
'''



def digits_npz(path: Path) -> Path:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = np.clip(x.reshape(-1, 8, 8) * 16, 0, 255).astype(np.uint8)  # 0-16 ink levels as grey pixels
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def run_automl(npz: Path, out: Path, time_limit: str, settings: tuple[str, ...] = ()) -> dict:
    pipeline = out / "digits.yaml"
    pipeline.write_text(f"schema_version: 1\nname: digits\nextends: image_classification\n"
                        f"data: {{path: {npz}}}\ntime_limit: {time_limit}\n")
    start = time.time()
    subprocess.run([sys.executable, "-m", "automl", "run", str(pipeline), "--out", str(out / "automl"), *settings],
                   check=True)
    seconds = time.time() - start
    report = json.loads((out / "automl" / "report.json").read_text())
    tflite = {e["quantization"]: e for e in report["exports"] if e["format"] == "tflite"}
    int8 = tflite.get("int8", {})
    return {"accuracy": report["test_metrics"]["accuracy"], "seconds": seconds,
            "trials": len(report["search"]["trials"]), "family": report["best"]["family"],
            "float32_bytes": tflite.get("float32", {}).get("bytes"), "int8_bytes": int8.get("bytes"),
            "int8_accuracy": int8.get("test_metrics", {}).get("accuracy"), "timings": report["timings"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--time-limit", default="3m")
    parser.add_argument("--autokeras", help="python of a venv with autokeras 3.0.0 (skipped without)")
    parser.add_argument("--smoke", action="store_true", help="automl alone, one trial of one epoch, no time limit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    npz = digits_npz(args.out / "digits.npz")
    settings = ()
    if args.smoke:
        from smoke import toy_settings

        settings, args.autokeras = tuple(toy_settings("export.quantizations=[float32,int8]")), None
    ours = run_automl(npz, args.out, args.time_limit, settings)
    rows = [("automl", ours["accuracy"], ours["seconds"], ours["float32_bytes"],
             f"{ours['family']}, {ours['trials']} trials; int8 {ours['int8_accuracy']} "
             f"at {ours['int8_bytes']} bytes")]
    if args.autokeras:
        script = args.out / "autokeras_run.py"
        script.write_text(_AUTOKERAS)
        budget = ours["seconds"]
        folder = args.out / "autokeras"
        shutil.rmtree(folder, ignore_errors=True)
        try:  # matched wall-clock: stopped at automl's time; the last finished trial counts
            subprocess.run([args.autokeras, str(script), str(npz), str(folder)], timeout=budget,
                           capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            pass
        lines = (folder / "results.jsonl").read_text().splitlines() if (folder / "results.jsonl").exists() else []
        if not lines:
            raise SystemExit(f"AutoKeras finished no trial in {budget:.0f}s")
        theirs = json.loads(lines[-1])
        rows.append(("autokeras 3.0.0", theirs["accuracy"], theirs["seconds"], theirs["bytes"],
                     f"{theirs['trials']} trials, {theirs['params']} parameters (.keras file)"))
    print(f"digits: 1437 train / 360 test; time limit {args.time_limit}; 2 CPU cores")
    print(f"{'tool':<16} {'test acc':>8} {'wall s':>7} {'bytes':>9}  notes")
    for name, accuracy, seconds, size, notes in rows:
        print(f"{name:<16} {accuracy:8.4f} {seconds:7.0f} {size or 0:9d}  {notes}")


if __name__ == "__main__":
    main()
