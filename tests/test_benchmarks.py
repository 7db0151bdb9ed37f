"""Every script in tests/benchmarks runs at a toy size (`--smoke`: tests/benchmarks/smoke.py) and
prints its figures, so a benchmark that breaks (an API it calls changed, a report key it reads moved)
fails here, not for the next person who needs its number. The figures themselves mean nothing at
this size; the full-size runs and their last measured values are in tests/benchmarks/README.md."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

BENCHMARKS = REPO / "tests" / "benchmarks"

#: script -> (its arguments, {OUT}: a fresh folder; what its output must show)
SMOKE = {
    "overhead.py": (["--smoke"], r"ratio \(automl / hand-written\): \d+\.\d{3}"),
    "training_arms.py": (["--smoke"], r"\n\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}\s+\d+\s+\{'augmentation'"),
    "run_pipeline.py": (["pipelines/quickstart.yaml", "{OUT}", "--smoke", "--set", "data.max_examples=300"],
                        r"keras test: accuracy=\d\.\d{4}[\s\S]*tflite float32 +[\d.]+ KiB"),
    "time_limit.py": (["pipelines/quickstart.yaml", "{OUT}", "45s", "--smoke"],
                      r"wall against the limit: [\d.]+ / 45 s = \d\.\d{3}"),
    "memory_over_trials.py": (["--out", "{OUT}", "--smoke"], r"small_cnn/\d+ +completed +\d+ params +[\d.]+ MB"),
    "digits_peer.py": (["{OUT}", "--smoke"], r"\nautoml +\d\.\d{4} +\d+ +\d+"),
    "forecast_rules.py": (["{OUT}", "--smoke"], r'"model": \{"mae": [\d.]+, "mase": [\d.]+\}'),
    "detection.py": (["{OUT}", "--smoke"], r'"keras": \{"ap50": [\d.]+, "map": [\d.]+'),
    "gan_reference.py": (["{OUT}", "--smoke"], r"keras\.io: frechet_distance=[\d.]+ kid="),
    "compression_gates.py": (["{OUT}", "--smoke"], r"model_prune_int8\.tflite +\d+ +\d+ +\d\.\d{3}"),
    "ray_overhead.py": (["{OUT}", "--smoke"], r"same best trial and test accuracy: True[\s\S]*ray overhead \(search\)"),
}


def test_every_benchmark_has_a_smoke_run():
    scripts = {p.name for p in BENCHMARKS.glob("*.py")} - {"smoke.py"}
    assert scripts == set(SMOKE), f"add the new script's smoke run here: {scripts ^ set(SMOKE)}"


#: Two halves in two files, so that CI's two test processes (pytest-xdist, by file) share them.
TRAINING_SCRIPTS = ("gan_reference.py", "compression_gates.py", "training_arms.py", "detection.py", "time_limit.py")


@pytest.mark.parametrize("script", sorted(set(SMOKE) - set(TRAINING_SCRIPTS)))
def test_the_benchmark_runs_at_a_toy_size_and_prints_its_figures(script, tmp_path):
    run_smoke(script, tmp_path)


def run_smoke(script: str, tmp_path) -> None:
    """Runs `script` with its smoke arguments; it must succeed and print its figures."""
    if script == "ray_overhead.py":
        pytest.importorskip("ray")
    arguments, figures = SMOKE[script]
    argv = [word.replace("{OUT}", str(tmp_path / "out")) for word in arguments]
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{script} {' '.join(argv)} failed:\n{done.stderr[-4000:]}"
    assert re.search(figures, done.stdout), f"{script} printed no figures:\n{done.stdout[-3000:]}"
