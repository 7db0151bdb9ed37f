"""The benchmarks that train most at their smoke size (test_benchmarks.py runs the others): a file
of their own, so that CI's two test processes take one half each."""

import pytest

from tests.test_benchmarks import TRAINING_SCRIPTS, run_smoke


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
def test_the_benchmark_runs_at_a_toy_size_and_prints_its_figures(script, tmp_path):
    run_smoke(script, tmp_path)
