"""How a converted generator is judged: its pixels against the Keras generator's, and the export
gate on the Frechet distance's relative increase, with its noise from resampled latent vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.scorer import Scorer

#: Memory the feature network's training images may take as float32 (28x28 grey: 637,000 images;
#: 128x128 RGB: 10,000).
FEATURE_TRAINING_BYTES = 2e9


class GanScorer(Scorer):
    """A generator's samples scored by a feature network trained for the run, and its files
    against the Keras generator."""

    #: Its evaluation samples and scores images rather than one pass over a test split: the reserve
    #: after fine-tuning is a share of the run, not timed.
    evaluation_is_one_pass = False

    def before_search(self, data, config, folder: Path, fingerprint: str) -> dict:
        """Trains (or reads back) the feature network every trial is scored with, and computes
        the real images' features it compares samples with."""
        from automl.tasks.image_generation.callbacks import QualityReference
        from automl.tasks.image_generation.features import feature_network
        from automl.tasks.image_generation.quality import frechet_distance
        from automl.tasks.image_generation.task import VALIDATION_SEED

        # Large images: the feature network trains on as many as fit in FEATURE_TRAINING_BYTES.
        most = max(1000, int(FEATURE_TRAINING_BYTES // (4 * np.prod(data.image_shape))))
        network = feature_network(data, lambda part: self.task.unit_images(data, part, limit=most),
                                  epochs=config.quality.feature_epochs, seed=config.seed, folder=folder,
                                  fingerprint=fingerprint)
        count = min(config.quality.samples, len(data.val))
        data.samples_path = Path(folder).parent / "epoch_samples.npz"
        data.quality = QualityReference(network, network.features(self.task.unit_images(data, "val", count)[0]),
                                        VALIDATION_SEED)
        test_features = network.features(self.task.unit_images(data, "test")[0])
        half = len(test_features) // 2
        data.test_features = test_features
        data.floor = frechet_distance(test_features[:half], test_features[half:2 * half])
        return {"feature_network": network.info, "objective_samples": count,
                "floor_frechet_distance": round(data.floor, 4),
                "floor": f"Frechet distance between two halves of the real test part ({half} images each)"}


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
