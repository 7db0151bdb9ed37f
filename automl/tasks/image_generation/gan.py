"""Training a generator against a discriminator: one Keras model with its own `train_step`.

TensorFlow backend (two `GradientTape`s), one optimizer per network: one optimizer shared
by both fails in Keras 3 ("Unknown variable"). Keras cannot reload a model with a custom
`compile` with its optimizers (keras#20579), so checkpoints save each network's weights
and each optimizer's variables themselves (`save_state` / `restore_state`).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from automl.tasks.image_generation.sampling import latent_inputs


class GAN(keras.Model):
    """The generator and discriminator of one trial, trained against each other.

    Args:
        label_smoothing: real images are labelled 1 - this for the discriminator (one-sided).
        discriminator_steps: discriminator updates per generator update.
        num_classes: with `conditional`, both networks also take a class id.
    """

    def __init__(self, generator, discriminator, *, latent_dim: int, conditional: bool, num_classes: int,
                 label_smoothing: float = 0.0, discriminator_steps: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.conditional, self.num_classes = latent_dim, conditional, num_classes
        self.label_smoothing, self.discriminator_steps = label_smoothing, discriminator_steps
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        # What each epoch logs (the task's metric_names): both losses, and the discriminator's mean
        # belief that real and fake images are real.
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        self.built = True  # both networks are built: weights can be counted, saved and loaded now

    def compile(self, generator_optimizer, discriminator_optimizer):
        super().compile()
        self.generator_optimizer, self.discriminator_optimizer = generator_optimizer, discriminator_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def generator_inputs(self, count, labels=None):
        """Latent vectors (and class ids: the given ones, or uniform draws) for `count` samples."""
        import tensorflow as tf

        latent = tf.random.normal((count, self.latent_dim))
        if not self.conditional:
            return latent
        if labels is None:
            labels = tf.random.uniform((count, 1), 0, self.num_classes, dtype=tf.int32)
        return [latent, tf.reshape(tf.cast(labels, tf.int32), (-1, 1))]

    def _judge(self, images, labels, training):
        inputs = [images, tf_labels(labels)] if self.conditional else images
        return self.discriminator(inputs, training=training)

    def train_step(self, data):
        import tensorflow as tf

        images, labels = data
        count = tf.shape(images)[0]
        for _ in range(self.discriminator_steps):
            inputs = self.generator_inputs(count, labels)
            fake = self.generator(inputs, training=True)
            with tf.GradientTape() as tape:
                real_logits = self._judge(images, labels, True)
                fake_logits = self._judge(fake, labels, True)
                real_target = tf.fill(tf.shape(real_logits), 1.0 - self.label_smoothing)
                d_loss = self.bce(real_target, real_logits) + self.bce(tf.zeros_like(fake_logits), fake_logits)
            weights = self.discriminator.trainable_weights
            self.discriminator_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        inputs = self.generator_inputs(count, labels)
        with tf.GradientTape() as tape:
            fake_logits = self._judge(self.generator(inputs, training=True), labels, True)
            g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)
        weights = self.generator.trainable_weights
        self.generator_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("d_real", tf.sigmoid(real_logits)),
                            ("d_fake", tf.sigmoid(fake_logits))):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def generate(self, count: int, labels=None, batch: int = 256, seed: int = 0) -> np.ndarray:
        """`count` images in [-1, 1] from seeded latent vectors (and `labels`, or seeded uniform
        class ids, when conditional). Numpy draws: TensorFlow's global random state is left alone."""
        inputs = latent_inputs(count, self.latent_dim, self.num_classes if self.conditional else 0, seed, labels)
        out = []
        for start in range(0, count, batch):
            part = ({k: v[start:start + batch] for k, v in inputs.items()} if isinstance(inputs, dict)
                    else inputs[start:start + batch])
            out.append(np.asarray(self.generator(part, training=False)))
        return np.concatenate(out)

    # -- checkpoints: both networks and both optimizers ---------------------------------------

    def save_state(self, folder: Path, prefix: str = "last") -> None:
        """`<prefix>.weights.h5` (both networks) and one optimizer file per network."""
        from automl.training import save_optimizer, save_weights

        folder = Path(folder)
        save_weights(self, folder / f"{prefix}.weights.h5")
        for network, optimizer in self._pairs():
            if optimizer.built:
                save_optimizer(optimizer, folder / f"{prefix}.{network.name}.optimizer.npz")

    def restore_state(self, folder: Path, prefix: str = "last") -> bool:
        """Loads both networks; False when an optimizer's saved state is missing or does not fit."""
        from automl.training import restore_optimizer

        folder = Path(folder)
        self.load_weights(folder / f"{prefix}.weights.h5")
        restored = True
        for network, optimizer in self._pairs():
            restored &= restore_optimizer(optimizer, network.trainable_variables,
                                          folder / f"{prefix}.{network.name}.optimizer.npz")
        return restored

    def _pairs(self):
        return ((self.generator, self.generator_optimizer), (self.discriminator, self.discriminator_optimizer))


def tf_labels(labels):
    import tensorflow as tf

    return tf.reshape(tf.cast(labels, tf.int32), (-1, 1))
