"""Object detection on the offline data sets: nuclei boxes (stardist, real, one class) and Fashion-MNIST
scenes (synthetic scenes of real items, ten classes), each with its pipeline's budget.

Usage: python tests/benchmarks/detection.py RUN_ROOT [--only nuclei,scenes] [--budget 10m] [--smoke]
(--smoke: the nuclei tiles only, one trial of one epoch)

Makes each data set under RUN_ROOT/data (as the pipeline files say), runs `automl.fit` on it, and prints
one JSON line per set: the test split's AP50 and mAP@[.5:.95] for Keras, for the Otsu-components
baseline and for every exported file on LiteRT, each file's boxes against Keras's on LiteRT and in
MediaPipe's ObjectDetector, and the seconds used of the budget. Long: run it in the background.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.detection_data import fashion_scenes, nuclei_tiles  # noqa: E402

#: name -> (how its data is made, the pipeline's budget)
SETS = {
    "nuclei": (lambda out: nuclei_tiles(out, stride=16, region=128), "10m"),
    "scenes": (lambda out: fashion_scenes(out, 4400), "30m"),
    "nuclei_smoke": (lambda out: nuclei_tiles(out), None),  # --smoke: the 64-px tiles, no region split
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--only", default="nuclei,scenes")
    parser.add_argument("--budget", help="the same time_limit for every set (default: each pipeline's)")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    import automl

    from smoke import TOY_RUN

    toy = {k: v for k, v in TOY_RUN.items() if k != "time_limit"} if args.smoke else {}
    if args.smoke:
        args.only = "nuclei_smoke"

    root = Path(args.root)
    for name in args.only.split(","):
        make, budget = SETS[name]
        folder = root / "data" / name
        if not folder.exists():
            make(folder)
        result = automl.fit(str(folder), task="object_detection", output=str(root / name),
                            time_limit=args.budget or budget, **toy)
        report = result.report
        files = [{"file": Path(row["path"]).name, "ap50": round(row["test_metrics"]["ap50"], 4),
                  "map": round(row["test_metrics"]["map"], 4), "vs_keras": row.get("vs_keras"),
                  "mediapipe": (row.get("mediapipe") or {}).get("vs_keras") or row.get("mediapipe"),
                  "kib": round(row["bytes"] / 1024), "ms": row.get("latency_ms"), "rejected": row.get("rejected")}
                 for row in report["exports"] if row.get("format") == "tflite"]
        print(json.dumps({
            "set": name, "budget": args.budget or budget, "used_s": report["timings"]["total_seconds"],
            "split": report["dataset"]["split_sizes"], "input_size": report["dataset"]["input_size"],
            "best": [report["best"]["family"], report["best"]["hyperparameters"]],
            "keras": {k: round(report["test_metrics"][k], 4) for k in ("ap50", "map", "ap75")},
            "otsu_components": {k: round(report["baselines"]["otsu_components"][k], 4) for k in ("ap50", "map")},
            "files": files}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
