"""The GAN's training engine: a generator and a discriminator, one Adam each, the GAN's own
train_step (`gan.GAN`), the sample quality every epoch scored by the feature network, and both
networks and optimizers checkpointed together."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from automl.trainer import Trainer


class GanTrainer(Trainer):
    def build_model(self, hp, family, data, pretrained=False):
        from automl.tasks.image_generation.gan import GAN

        values = family.space(hp, conditional_possible=data.num_classes > 1)
        classes = max(data.num_classes, 1)
        gan = GAN(family.build_generator(values, data.image_shape, classes),
                  family.build_discriminator(values, data.image_shape, classes),
                  latent_dim=values["latent_dim"], conditional=values["conditional"], num_classes=classes,
                  label_smoothing=values["label_smoothing"], discriminator_steps=values["discriminator_steps"],
                  name=family.info.name)
        self.compile_model(gan, hp)
        return gan

    def compile_model(self, model, hp, learning_rate: Optional[float] = None) -> None:
        """Adam for each network; a `learning_rate` given (fine-tuning) is the generator's, and the
        discriminator's keeps its searched ratio to it."""
        import keras

        generator_rate, discriminator_rate = hp.get("learning_rate"), hp.get("discriminator_learning_rate")
        if learning_rate is not None:
            discriminator_rate *= learning_rate / generator_rate
            generator_rate = learning_rate
        beta_1 = hp.get("beta_1")
        model.compile(keras.optimizers.Adam(generator_rate, beta_1=beta_1),
                      keras.optimizers.Adam(discriminator_rate, beta_1=beta_1))

    #: The learning rates stay as searched: a falling rate schedule is for one supervised loss.
    schedules_learning_rate = False
    #: Keras 3 fails on a custom train_step under MirroredStrategy (keras#20164), and this one
    #: applies gradients without the loss scaling float16 needs: one device, float32.
    data_parallel = mixed_precision = False

    def fit(self, model, hp, data, *, epochs: int, initial_epoch: int = 0, callbacks=(), train_indices=None,
            val_indices=None):
        from automl.tasks.image_generation.callbacks import Breakdown, SampleQuality
        from automl.training import TrainingDiverged

        train = self.task.train_dataset(hp, data, "train", hp.get("batch_size"), indices=train_indices)
        guard = Breakdown()
        scoring = [SampleQuality(data.quality)] if data.quality else []
        try:
            history = model.fit(train, epochs=epochs, initial_epoch=initial_epoch,
                                callbacks=[*scoring, guard, *callbacks], verbose=0)
        finally:
            if scoring and data.samples_path is not None:
                keep_epoch_samples(data.samples_path, scoring[0].samples, continues=initial_epoch > 0)
        if guard.failure:
            raise TrainingDiverged(f"training diverged at {guard.failure}")
        return history

    def fit_on_train_and_val(self, model, hp, data, *, epochs: int, callbacks=()):
        import tensorflow as tf

        batch_size = hp.get("batch_size")
        both = self.task.train_dataset(hp, data, "train", batch_size).unbatch().concatenate(
            self.task.train_dataset(hp, data, "val", batch_size).unbatch())
        both = both.shuffle(20_000, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)
        return model.fit(both.prefetch(tf.data.AUTOTUNE), epochs=epochs, callbacks=list(callbacks), verbose=0)

    def validation_scores(self, model, hp, data) -> dict:
        quality = data.quality
        return quality.validation_scores(model) if quality else {}

    def save_training_state(self, model, folder) -> None:
        model.save_state(Path(folder), "last")

    def restore_training_state(self, model, folder) -> bool:
        return model.restore_state(Path(folder), "last")


def keep_epoch_samples(path: Path, samples: dict, continues: bool) -> None:
    """Writes each epoch's first samples to `path` (`epoch_<n>`); a fit that continues an earlier
    one (a resumed fine-tuning) adds to what that one wrote, another starts the file afresh."""
    saved = {}
    if continues and path.exists():
        with np.load(path) as earlier:
            saved = {name: earlier[name] for name in earlier.files}
    saved.update({f"epoch_{epoch:04d}": images for epoch, images in samples.items()})
    if saved:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **saved)
