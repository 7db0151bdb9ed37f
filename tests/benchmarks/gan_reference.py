"""automl's image generation beside the keras.io DCGAN, for the same wall-clock on the same data,
scored by the same feature network (the one the automl run trained before its search).

Usage: python tests/benchmarks/gan_reference.py RUN_DIR [PIPELINE.yaml] [--report-only] [--smoke]
(--smoke: the quickstart's 1,000 images, one trial of one epoch, the reference for 5 seconds)

Runs the pipeline (default pipelines/fashion_mnist_gan.yaml) into RUN_DIR, then trains the
reference for as many seconds as the run took and prints both. The reference is the MNIST-size
DCGAN of keras.io's "DCGAN overriding train_step": Dense 7x7x128 -> two Conv2DTranspose(128, 4,
stride 2) -> Conv2D(1, 7, sigmoid); discriminator Conv2D 64 and 128 (stride 2), global max
pooling, Dense 1; latent 128, Adam 3e-4 for both, batch 64.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REFERENCE_LATENT, REFERENCE_BATCH, REFERENCE_RATE = 128, 64, 3e-4


def reference_networks():
    import keras
    from keras import layers

    generator = keras.Sequential([
        keras.Input((REFERENCE_LATENT,)),
        layers.Dense(7 * 7 * 128), layers.LeakyReLU(0.2), layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(1, 7, padding="same", activation="sigmoid")], name="generator")
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(128, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.GlobalMaxPooling2D(), layers.Dense(1)], name="discriminator")
    return generator, discriminator


def train_reference(images: np.ndarray, seconds: float, seed: int = 0):
    """The keras.io training loop (images in [0, 1], noisy labels), until `seconds` have passed."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    generator, discriminator = reference_networks()
    g_opt, d_opt = keras.optimizers.Adam(REFERENCE_RATE), keras.optimizers.Adam(REFERENCE_RATE)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(real):
        count = tf.shape(real)[0]
        fake = generator(tf.random.normal((count, REFERENCE_LATENT)))
        both = tf.concat([fake, real], 0)
        labels = tf.concat([tf.ones((count, 1)), tf.zeros((count, 1))], 0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))  # keras.io's label noise
        with tf.GradientTape() as tape:
            d_loss = bce(labels, discriminator(both))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_weights),
                                  discriminator.trainable_weights))
        with tf.GradientTape() as tape:
            g_loss = bce(tf.zeros((count, 1)), discriminator(generator(tf.random.normal((count, REFERENCE_LATENT)))))
        g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_weights), generator.trainable_weights))
        return d_loss, g_loss

    data = tf.data.Dataset.from_tensor_slices(images).shuffle(10_000).batch(REFERENCE_BATCH, drop_remainder=True)
    started, steps, epochs = time.time(), 0, 0
    while time.time() - started < seconds:
        for batch in data:
            step(batch)
            steps += 1
            if time.time() - started >= seconds:
                break
        epochs += 1
    return generator, {"seconds": round(time.time() - started, 1), "steps": steps, "epochs_started": epochs}


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    pipeline = next((a for a in argv[1:] if a.endswith(".yaml")), "pipelines/fashion_mnist_gan.yaml")
    smoke = []
    if "--smoke" in argv:
        from smoke import SAMPLE, toy_settings

        smoke = toy_settings(f"data.path={SAMPLE}", "quality.feature_epochs=1", "quality.samples=100",
                             "search.hyperparameters={base_filters: 16, latent_dim: 16}")
    if "--report-only" not in argv:
        code = subprocess.call([sys.executable, "-m", "automl", "run", pipeline, "--out", str(run_dir), *smoke])
        if code not in (0, 1):
            return code
    report = json.loads((run_dir / "report.json").read_text())

    import keras

    from automl.config.loader import load_config
    from automl.tasks import get_task
    from automl.tasks.image_generation import quality

    config = load_config(run_dir / "pipeline.yaml")
    task = get_task(config.task)
    data = task.load_data(config)
    network = keras.models.load_model(run_dir / "before_search" / "feature_network.keras", compile=False)
    features = lambda images: np.concatenate([np.asarray(network(images[i:i + 500], training=False)[0])  # noqa: E731
                                              for i in range(0, len(images), 500)]).astype(np.float64)
    real = features(task.unit_images(data, "test")[0])
    train_images = task.unit_images(data, "train")[0]
    seconds = 5.0 if smoke else report["timings"]["total_seconds"]
    print(f"training the keras.io DCGAN for {seconds:.0f}s (automl's whole run) on {len(train_images)} images")
    generator, info = train_reference((train_images + 1) / 2, seconds)
    samples = np.asarray(generator.predict(np.random.default_rng(2).standard_normal(
        (len(real), REFERENCE_LATENT)).astype("float32"), batch_size=500, verbose=0)) * 2 - 1
    fake = features(samples)
    automl_metrics = report["test_metrics"]
    print(f"test images: {len(real)}; floor (two halves of the test part): {automl_metrics['floor_frechet_distance']:.4f}")
    print(f"untrained automl generator: {automl_metrics['untrained_frechet_distance']:.4f}")
    print(f"automl  : frechet_distance={automl_metrics['frechet_distance']:.4f} kid={automl_metrics['kid']:.5f} "
          f"({report['timings']['total_seconds']:.0f}s, best {report['best']['hyperparameters']})")
    print(f"keras.io: frechet_distance={quality.frechet_distance(real, fake):.4f} "
          f"kid={quality.kernel_inception_distance(real, fake):.5f} ({info})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
