"""The DCGAN family trained by the GAN model on real Fashion-MNIST images."""

import keras
import keras_tuner
import numpy as np
import pytest

from automl.families.dcgan import DCGAN, upsampling_blocks
from automl.tasks import get_task
from automl.tasks.image_generation.gan import GAN
from automl.tasks.image_generation.sampling import pixels_to_unit, unit_to_pixels
from automl.tasks.image_generation.quality import frechet_distance
from tests.conftest import FASHION_MNIST


def test_upsampling_blocks_reach_the_side_from_a_small_grid():
    assert upsampling_blocks(28, 4) == 2  # 7 -> 14 -> 28
    assert upsampling_blocks(64, 4) == 4  # 4 -> ... -> 64
    assert upsampling_blocks(64, 2) == 2
    assert upsampling_blocks(30, 4) == 1  # 15 -> 30


@pytest.mark.parametrize("shape, conditional", [((28, 28, 1), True), ((30, 20, 3), False)])
def test_generator_makes_images_of_the_data_shape(shape, conditional):
    family = DCGAN()
    values = family.space(keras_tuner.HyperParameters(), conditional_possible=conditional)
    values["base_filters"] = 16
    generator = family.build_generator(values, shape, num_classes=10)
    discriminator = family.build_discriminator(values, shape, num_classes=10)
    inputs = [np.zeros((3, values["latent_dim"]), "float32")] + ([np.zeros((3, 1), "int32")] if conditional else [])
    images = generator.predict(inputs if conditional else inputs[0], verbose=0)
    assert images.shape == (3, *shape) and np.abs(images).max() <= 1.0
    judged = discriminator.predict([images, inputs[1]] if conditional else images, verbose=0)
    assert judged.shape == (3, 1)
    if conditional:  # projection: the same image is judged per class, the class adding <embedding, features>
        other_class = discriminator.predict([images, inputs[1] + 1], verbose=0)
        assert not np.allclose(judged, other_class)
        discriminator.get_layer("class_projection").set_weights([np.zeros((10, discriminator.get_layer(
            "flat").output.shape[-1]), "float32")])
        unconditioned = discriminator.predict([images, inputs[1]], verbose=0)
        np.testing.assert_allclose(unconditioned, discriminator.predict([images, inputs[1] + 1], verbose=0))


def fashion_mnist(count):
    from automl.tasks.image_classification.data import read_idx

    if not FASHION_MNIST.exists():
        pytest.skip("needs the Debian package dataset-fashion-mnist")
    images = read_idx(next(FASHION_MNIST.glob("train-images*")))[:count]
    labels = read_idx(next(FASHION_MNIST.glob("train-labels*")))[:count]
    return images[..., None].astype("float32"), labels.astype("int32")


def pooled(images):
    """7x7 average-pooled pixels: a feature space for the test that needs no trained network."""
    return images.reshape(len(images), 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(images), -1)


def test_training_moves_samples_towards_the_real_images_and_checkpoints_both_networks(tmp_path):
    import tensorflow as tf

    images, labels = fashion_mnist(4096)
    family = DCGAN()
    keras.utils.set_random_seed(0)
    values = {**family.space(keras_tuner.HyperParameters(), conditional_possible=True), "base_filters": 32}
    gan = GAN(family.build_generator(values, (28, 28, 1), 10), family.build_discriminator(values, (28, 28, 1), 10),
              latent_dim=values["latent_dim"], conditional=True, num_classes=10,
              label_smoothing=values["label_smoothing"], discriminator_steps=1)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    real = pooled(pixels_to_unit(images[:2000]))
    before = frechet_distance(real, pooled(gan.generate(2000, seed=1)))
    data = tf.data.Dataset.from_tensor_slices((pixels_to_unit(images), labels)).shuffle(4096).batch(64)
    # 384 steps: the Frechet distance falls from 27 to 1.8 and 5.7 in two runs (192 steps: still 13-24).
    history = gan.fit(data, epochs=6, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    assert tuple(sorted(history)) == tuple(sorted(get_task("image_generation").goal.metric_names))
    after = frechet_distance(real, pooled(gan.generate(2000, seed=1)))
    assert after < 0.35 * before, (before, after)

    samples = unit_to_pixels(gan.generate(8, labels=np.arange(8), seed=2))
    assert samples.dtype == np.uint8 and samples.shape == (8, 28, 28, 1)
    gan.save_state(tmp_path, "last")
    twin = GAN(family.build_generator(values, (28, 28, 1), 10), family.build_discriminator(values, (28, 28, 1), 10),
               latent_dim=values["latent_dim"], conditional=True, num_classes=10)
    twin.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    assert twin.restore_state(tmp_path, "last")
    latent = np.random.default_rng(3).standard_normal((4, values["latent_dim"])).astype("float32")
    ids = np.arange(4, dtype="int32")[:, None]
    np.testing.assert_allclose(twin.generator.predict([latent, ids], verbose=0),
                               gan.generator.predict([latent, ids], verbose=0), atol=1e-6)
    # The optimizers continued too: their step counts are those of the trained pair.
    assert int(twin.generator_optimizer.iterations) == int(gan.generator_optimizer.iterations) > 0
    assert int(twin.discriminator_optimizer.iterations) == int(gan.discriminator_optimizer.iterations) > 0
    for mine, theirs in zip(twin.discriminator_optimizer.variables, gan.discriminator_optimizer.variables):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs))
