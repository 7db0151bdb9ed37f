"""The feature network that scores generated images: trained once per run, before the search.

Every trial, the fine-tuning and the exported generators are scored in the
same feature space, so their distances compare. Nothing is downloaded: with
labels the network is a small classifier trained on the training part (TF-GAN
scores MNIST with a classifier's features the same way); without labels it is
the encoder of an autoencoder. Training is seeded, and the network is kept in
the run directory with a fingerprint of the data and settings it was trained
on, so a rerun reads it back instead of training again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from automl.progress import say

FEATURES_LAYER = "features"
#: The feature network trains at least this many steps (small data sets: many epochs), and stops
#: when validation loss has not improved for FEATURE_PATIENCE epochs (best weights kept).
MIN_FEATURE_STEPS, FEATURE_PATIENCE, FEATURE_BATCH = 2000, 5, 128
FEATURE_DIMS = 128
#: Images per batch when features are computed.
BATCH = 500


@dataclass
class FeatureNetwork:
    """Maps images in [-1, 1] to features (and, for a classifier, to class probabilities)."""

    model: object  # keras.Model: image -> [features, probabilities] or [features]
    kind: str  # "classifier" or "autoencoder"
    info: dict  # what the report says of it: kind, test score, seconds, epochs

    def features(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[0]

    def features_and_probabilities(self, images: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        outputs = self._run(images)
        return outputs[0], (outputs[1] if self.kind == "classifier" else None)

    def _run(self, images: np.ndarray) -> list[np.ndarray]:
        parts = []
        for start in range(0, len(images), BATCH):
            out = self.model(np.asarray(images[start:start + BATCH], dtype=np.float32), training=False)
            parts.append([np.asarray(o, dtype=np.float64) for o in (out if isinstance(out, (list, tuple)) else [out])])
        return [np.concatenate(column) for column in zip(*parts)]


def feature_network(data, unit_images, *, epochs: int, seed: int, folder: Path, fingerprint: str) -> FeatureNetwork:
    """The run's feature network: read back from `folder` when trained on the same data and
    settings, else trained (seeded) and saved there.

    `unit_images(part)`: a part's images in [-1, 1] and its labels, as arrays.
    """
    import keras

    folder = Path(folder)
    info_path, model_path = folder / "feature_network.json", folder / "feature_network.keras"
    if info_path.exists() and model_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("fingerprint") == fingerprint:
            say("quality", f"feature network read back from {model_path}")
            model = keras.models.load_model(model_path, compile=False)
            return FeatureNetwork(model, info["kind"], {k: v for k, v in info.items() if k != "fingerprint"})
    started = time.time()
    keras.utils.set_random_seed(seed)
    x_train, y_train = unit_images("train")
    x_val, y_val = unit_images("val")
    kind = "classifier" if data.labelled else "autoencoder"
    epochs = max(epochs, -(-MIN_FEATURE_STEPS // max(1, len(x_train) // FEATURE_BATCH)))
    say("quality", f"training the {kind} whose features score every trial (up to {epochs} epochs, "
                   f"{len(x_train)} images, seed {seed})")
    stop = [keras.callbacks.EarlyStopping(patience=FEATURE_PATIENCE, restore_best_weights=True)]
    fit = dict(epochs=epochs, batch_size=FEATURE_BATCH, callbacks=stop, verbose=0)
    if kind == "classifier":
        trainer, features = _classifier(data.image_shape, data.num_classes)
        history = trainer.fit(x_train, y_train, validation_data=(x_val, y_val), **fit)
        x_test, y_test = unit_images("test")
        probs = trainer.predict(x_test, batch_size=BATCH, verbose=0)
        score = {"test_accuracy": round(float(np.mean(probs.argmax(-1) == y_test)), 4)}
        scorer = keras.Model(trainer.input, [features, trainer.output], name="feature_classifier")
    else:
        trainer, features = _autoencoder(data.image_shape)
        history = trainer.fit(x_train, x_train, validation_data=(x_val, x_val), **fit)
        x_test, _ = unit_images("test")
        score = {"test_reconstruction_mse": round(float(trainer.evaluate(x_test, x_test, verbose=0)), 5)}
        scorer = keras.Model(trainer.input, [features], name="feature_encoder")
    info = {"kind": kind, "epochs": len(history.history["loss"]), "seed": seed, "dims": FEATURE_DIMS, **score,
            "seconds": round(time.time() - started, 1)}
    folder.mkdir(parents=True, exist_ok=True)
    scorer.save(model_path)
    info_path.write_text(json.dumps({**info, "fingerprint": fingerprint}, indent=2))
    say("quality", f"feature network: {', '.join(f'{k} {v}' for k, v in score.items())} ({info['seconds']}s)")
    return FeatureNetwork(scorer, kind, info)


def _encoder(image):
    """Strided convolutions down to a grid of at most 8 pixels a side, then the feature vector."""
    from keras import layers

    x, filters = image, 32
    while min(x.shape[1], x.shape[2]) > 8:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        filters = min(2 * filters, 128)
    grid = x
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(128, 3, padding="same", activation="relu")(x))
    return layers.Dense(FEATURE_DIMS, activation="relu", name=FEATURES_LAYER)(x), grid.shape[1:3]


def _classifier(image_shape, num_classes: int):
    import keras
    from keras import layers

    image = keras.Input(tuple(image_shape), name="image")
    features, _ = _encoder(image)
    probs = layers.Dense(num_classes, activation="softmax", name="probabilities")(layers.Dropout(0.3)(features))
    model = keras.Model(image, probs, name="quality_classifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, features


def _autoencoder(image_shape):
    import keras
    from keras import layers

    height, width, channels = image_shape
    image = keras.Input(tuple(image_shape), name="image")
    features, (grid_h, grid_w) = _encoder(image)
    x = layers.Dense(grid_h * grid_w * 64, activation="relu")(features)
    x = layers.Reshape((grid_h, grid_w, 64))(x)
    while x.shape[1] < height or x.shape[2] < width:
        x = layers.Conv2DTranspose(64, 4, strides=2, padding="same", activation="relu")(x)
    if tuple(x.shape[1:3]) != (height, width):
        x = layers.Resizing(height, width)(x)
    decoded = layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    model = keras.Model(image, decoded, name="quality_autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model, features
