"""What a GAN's training reports after each epoch: sample quality, and whether it broke down."""

from __future__ import annotations

import math

import keras
import numpy as np

from automl.tasks.image_generation.quality import frechet_distance
from automl.tasks.image_generation.sampling import unit_to_pixels

#: A mode collapse, after this many epochs of one fit: samples that were diverse (no class above
#: DIVERSE_CLASS_SHARE, or features varying at least DIVERSE_SPREAD as much as the real images')
#: now fall in one class at MODE_COLLAPSE_SHARE (with at least MODE_COLLAPSE_MIN_CLASSES classes),
#: or vary less than MODE_COLLAPSE_SPREAD of the most they did.
MODE_COLLAPSE_AFTER_EPOCHS = 3
DIVERSE_CLASS_SHARE, MODE_COLLAPSE_SHARE, MODE_COLLAPSE_MIN_CLASSES = 0.5, 0.9, 3
DIVERSE_SPREAD, MODE_COLLAPSE_SPREAD = 0.1, 0.05
#: The discriminator calls fakes real with at most this mean probability over a whole epoch:
#: it has won, and the generator's gradients vanish.
DISCRIMINATOR_COLLAPSE = 0.01


class SampleQuality(keras.callbacks.Callback):
    """Adds `val_frechet_distance` (the search objective), `val_max_class_share` (with a classifier)
    and `val_feature_spread` to each epoch's logs: the same latent vectors every epoch and every
    trial, against the same real validation images. Put it first, so every callback after it
    (checkpoints, early stopping, KerasTuner) reads them."""

    def __init__(self, reference, shown: int = 8):
        super().__init__()
        self.reference, self.shown = reference, shown
        #: The first `shown` samples of each epoch, as uint8 pixels, by epoch number (from 1).
        self.samples: dict[int, np.ndarray] = {}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        scores, images = self.reference.validation_scores(self.model, with_samples=True)
        logs.update(scores)
        self.samples[epoch + 1] = unit_to_pixels(images[:self.shown])


class Breakdown(keras.callbacks.Callback):
    """Stops training when it breaks down: a NaN loss, a discriminator that has won outright, or
    a mode collapse. `failure` says which."""

    def __init__(self):
        super().__init__()
        self.failure = None
        self.seen: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(dict(logs or {}))
        why = breakdown(self.seen)
        if why:
            self.failure = f"epoch {epoch + 1}: {why}"
            self.model.stop_training = True


def breakdown(epochs: list[dict]) -> str | None:
    """Why the last of these epochs' logs (one fit, in order) shows a broken-down GAN, or None.

    A mode collapse is a fall from diversity: a barely trained generator draws near-identical
    images at first, which is no collapse yet.
    """
    logs = epochs[-1]
    for name in ("d_loss", "g_loss"):
        value = logs.get(name)
        if value is not None and not math.isfinite(value):
            return f"{name} became {value}"
    if logs.get("d_fake") is not None and logs["d_fake"] < DISCRIMINATOR_COLLAPSE:
        return (f"discriminator collapse: it called fakes real with mean probability {logs['d_fake']:.4f} "
                f"(d_loss {logs.get('d_loss', float('nan')):.4f}); the generator learns nothing from it")
    if len(epochs) < MODE_COLLAPSE_AFTER_EPOCHS:
        return None
    share = logs.get("val_max_class_share")
    widest = min((e["val_max_class_share"] for e in epochs if "val_max_class_share" in e), default=1.0)
    if (share is not None and logs.get("val_classes", 0) >= MODE_COLLAPSE_MIN_CLASSES
            and share >= MODE_COLLAPSE_SHARE and widest <= DIVERSE_CLASS_SHARE):
        return f"mode collapse: {share:.0%} of the samples fall in one class (at best {widest:.0%} did)"
    spread = logs.get("val_feature_spread")
    broadest = max((e["val_feature_spread"] for e in epochs if "val_feature_spread" in e), default=0.0)
    if spread is not None and broadest >= DIVERSE_SPREAD and spread < MODE_COLLAPSE_SPREAD * broadest:
        return (f"mode collapse: the samples' features vary {spread:.2%} as much as the real images' "
                f"(at best {broadest:.0%})")
    return None


class QualityReference:
    """The real validation images' features and the fixed generator inputs every epoch is scored with."""

    def __init__(self, network, real_features: np.ndarray, latent_seed: int):
        self.network, self.real_features, self.latent_seed = network, real_features, latent_seed
        self._real_spread = float(np.trace(np.cov(real_features, rowvar=False)))

    def validation_scores(self, gan, with_samples: bool = False):
        """The scores (and, `with_samples`, the generated images they were computed on)."""
        images = gan.generate(len(self.real_features), seed=self.latent_seed)
        scores = self._scores(images)
        return (scores, images) if with_samples else scores

    def _scores(self, images: np.ndarray) -> dict:
        features, probs = self.network.features_and_probabilities(images)
        if not np.all(np.isfinite(features)):
            return {"val_frechet_distance": float("nan")}
        scores = {"val_frechet_distance": frechet_distance(self.real_features, features),
                  "val_feature_spread": float(np.trace(np.cov(features, rowvar=False))) / max(self._real_spread, 1e-12)}
        if probs is not None:
            scores["val_max_class_share"] = float(np.bincount(probs.argmax(-1)).max() / len(probs))
            scores["val_classes"] = probs.shape[-1]
        return scores
