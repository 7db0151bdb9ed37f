"""`--smoke`: every benchmark at a toy size (a few dozen examples, one epoch, seconds of training),
so that the default test run runs each script (tests/test_benchmarks.py) and one that no longer
works fails CI instead of the next person who needs its figure. A smoke run's figures measure
nothing; that they are printed is what counts."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "pipelines" / "quickstart.yaml"
SAMPLE = ROOT / "examples" / "fashion_mnist_sample"

#: What makes any pipeline a toy run: one trial of one epoch, one fine-tuning epoch, one file, no time limit.
TOY_RUN = {"search": {"max_trials": 1, "epochs": 1, "strategy": "random", "time_limit": None},
           "finetune": {"epochs": 1, "time_limit": None},
           "export": {"formats": ["tflite"], "quantizations": ["float32"]},
           "time_limit": None}
#: Images a toy image-classification run reads (data.max_examples).
TOY_IMAGES = 300


def toy_settings(*extra: str, without: tuple[str, ...] = ()) -> list[str]:
    """TOY_RUN (less the keys in `without`) and `extra` as `--set KEY=VALUE` words for `automl run`."""
    import json

    settings = []
    for section, value in TOY_RUN.items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for key, item in items:
            name = f"{section}.{key}" if key else section
            if name not in without:
                settings.append(f"{name}={'null' if item is None else json.dumps(item)}")
    return [word for setting in [*settings, *extra] for word in ("--set", setting)]
