"""How a converted generator is judged: its pixels against the Keras generator's, and the export
gate on the Frechet distance's relative increase, with its noise from resampled latent vectors."""

from __future__ import annotations

import numpy as np

from automl.scorer import Scorer


class GanScorer(Scorer):
    """A generator's files against the Keras generator."""

    def headline_drop(self, keras_value: float, value: float) -> float:
        """The Frechet distance's relative increase: a distance has no fixed scale."""
        return (value - keras_value) / max(keras_value, 1e-12)

    def headline_noise(self, data, targets, reference, outputs, draws: int = 50, seed: int = 0) -> float:
        """Standard error of the relative increase over resampled latent vectors (the same draw for
        both generators), with the features computed once."""
        from automl.tasks.image_generation.quality import frechet_distance

        network = data.quality.network
        keras_features, converted = network.features(reference), network.features(outputs)
        rng = np.random.default_rng(seed)
        increases = []
        for _ in range(draws):
            idx = rng.integers(0, len(keras_features), len(keras_features))
            base = frechet_distance(data.test_features, keras_features[idx])
            increases.append(self.headline_drop(base, frechet_distance(data.test_features, converted[idx])))
        return float(np.std(increases))

    def compare(self, reference, outputs, data) -> dict:
        """The largest pixel difference, in the generator's [-1, 1] units."""
        return {"max_abs_error": float(np.max(np.abs(np.asarray(reference) - np.asarray(outputs))))}
