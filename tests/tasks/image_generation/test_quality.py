"""The sample-quality measures against closed forms and an independent computation."""

import numpy as np
import pytest

from automl.tasks.image_generation.quality import (frechet_distance, kernel_inception_distance,
                                                   precision_recall_density_coverage)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    # Diagonal covariances: the distance is |m1 - m2|^2 + sum (s1 - s2)^2.
    m1, m2 = np.array([0.0, 1.0, 2.0, 0.0]), np.array([1.0, 1.0, 0.0, 0.5])
    s1, s2 = np.array([1.0, 2.0, 0.5, 1.0]), np.array([1.0, 1.0, 1.5, 2.0])
    a = m1 + s1 * rng.standard_normal((200_000, 4))
    b = m2 + s2 * rng.standard_normal((200_000, 4))
    expected = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_agrees_with_the_trace_of_the_product_root():
    """Correlated features: tr((S1 S2)^1/2) from the eigenvalues of the non-symmetric product."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3000, 6)) @ rng.standard_normal((6, 6))
    b = rng.standard_normal((3000, 6)) @ rng.standard_normal((6, 6)) + 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    trace_root = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real.clip(0)))
    expected = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((2000, 8))
    same = kernel_inception_distance(real, rng.standard_normal((2000, 8)))
    near = kernel_inception_distance(real, rng.standard_normal((2000, 8)) + 0.25)
    far = kernel_inception_distance(real, rng.standard_normal((2000, 8)) + 1.0)
    assert abs(same) < 0.01 < near < far


def test_prdc_sees_good_samples_and_mode_collapse():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((1500, 4))
    good = precision_recall_density_coverage(real, rng.standard_normal((1500, 4)))
    assert good["precision"] > 0.8 and good["recall"] > 0.8 and good["coverage"] > 0.9
    assert 0.8 < good["density"] < 1.2
    # Every sample near one real point: they look real, but they reach little of the data.
    collapsed = precision_recall_density_coverage(real, real[0] + 0.05 * rng.standard_normal((1500, 4)))
    assert collapsed["precision"] > 0.9
    assert collapsed["recall"] < 0.1 and collapsed["coverage"] < 0.1


def test_too_few_features_are_errors_that_say_so():
    with pytest.raises(ValueError, match="at least 2 feature vectors"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="more than k=5"):
        precision_recall_density_coverage(np.zeros((5, 3)), np.zeros((50, 3)))
