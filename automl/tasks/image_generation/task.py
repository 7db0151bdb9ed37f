"""Image generation: a generator trained against a discriminator, scored in a feature network's space.

The task trains its own way (`gan.GAN`: two networks, two optimizers, its own
`train_step`); every epoch is scored by the Frechet distance between a fixed
feature network's features of real validation images and of generated ones
(`callbacks.SampleQuality`), which is the search objective. What is evaluated,
exported and verified is the generator alone: latent vector (and class id) ->
image in [-1, 1].
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from automl.inference import Inference
from automl.tasks.base import Task, handed_over
from automl.tasks.goal import Goal
from automl.tasks.image_generation.data import class_shares, load_generation_data
from automl.tasks.image_generation.sampling import latent_inputs, pixels_to_unit, unit_to_pixels
from automl.report_view import ReportView

#: Seeds of the fixed latent vectors: validation (every epoch of every trial) and test.
VALIDATION_SEED, TEST_SEED = 1, 2
#: Samples precision/recall/density/coverage compare (their k-NN balls cost count^2 distances).
PRDC_SAMPLES = 5000


class ImageGeneration(Task):
    name = "image_generation"
    #: The GAN logs both losses and the discriminator's mean belief that real and fake images are
    #: real (near 1 and 0: it has won, and the generator learns nothing); only the sample quality
    #: can be searched.
    goal = Goal("val_frechet_distance", "min", metric_names=("d_loss", "g_loss", "d_real", "d_fake"),
                headline="frechet_distance", higher_is_better=False, searchable=("val_frechet_distance",))

    report_view = handed_over("automl.tasks.image_generation.task:GenerationView")

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        reasons = ["the image generation family"]
        if profile.get("labelled") and profile.get("num_classes", 0) > 1:
            reasons.append(f"{profile['num_classes']} labelled classes: the class-conditional variant is searched too")
        return 1.0, reasons, None

    def metrics(self) -> list:
        """What the GAN logs each epoch (`test_gan` checks its history has exactly these)."""
        import keras

        return [keras.metrics.Mean(name=name) for name in self.goal.metric_names]

    #: `automl.fit` takes images alone too, and its result can `generate`.
    python_api = handed_over("automl.tasks.image_generation.result:GeneratorApi")

    # -- data --------------------------------------------------------------------------------

    def load_data(self, config, arrays=None):
        return load_generation_data(config.data, config.seed, arrays=arrays)

    def profile(self, data) -> dict:
        profile = {**data.facts(), "labelled": data.labelled, "num_classes": data.num_classes}
        if data.labelled:
            profile["class_names"] = data.class_names
            profile["class_counts"] = np.bincount(data.train.labels, minlength=data.num_classes).tolist()
        return profile

    def unit_images(self, data, part: str, limit: Optional[int] = None):
        """A part's images in [-1, 1] and its labels, as arrays. The whole test part is decoded once
        per run and kept: the feature network, the real features and every evaluation read it."""
        whole_test = part == "test" and (limit is None or limit >= len(data.test))
        if whole_test and data.unit_test is not None:
            return data.unit_test
        images, labels = data.part(part).to_numpy(data.image_shape, limit=limit)
        arrays = pixels_to_unit(images).astype(np.float32), labels
        if whole_test:
            data.unit_test = arrays
        return arrays

    #: Two networks, two optimizers, a train_step of their own (`trainer.GanTrainer`).
    trainer = handed_over("automl.tasks.image_generation.trainer:GanTrainer")

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        """(images in [-1, 1], class ids) batches; the last, smaller batch is dropped (a batch of a
        few images gives the discriminator's batch statistics nothing to stand on)."""
        import tensorflow as tf

        split = data.part(part)
        if indices is not None:
            split = split.take(indices)
        ds = split.to_dataset(data.image_shape).map(lambda x, y: (pixels_to_unit(x), y),
                                                    num_parallel_calls=tf.data.AUTOTUNE)
        if shuffle:
            ds = ds.shuffle(min(len(split), 10_000), reshuffle_each_iteration=True)
        return ds.batch(min(batch_size, len(split)), drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    #: What is evaluated, exported and verified: the generator.
    inference = handed_over("automl.tasks.image_generation.task:GeneratorAlone")

    def generate(self, model, data, hp, count: int, seed: int, labels=None) -> np.ndarray:
        """uint8 images from the generator: seeded latent vectors, and `labels` (or uniform class ids)."""
        conditional = bool(hp.values.get("conditional", False))
        if labels is not None and not conditional:
            raise ValueError("this generator is not class-conditional; generate it without labels")
        inputs = latent_inputs(count, hp.get("latent_dim"), data.num_classes if conditional else 0, seed, labels)
        return unit_to_pixels(model.predict(inputs, batch_size=256, verbose=0))

    def test_inputs(self, data, hp):
        """Seeded latent vectors (and class ids) for as many samples as the test part has images."""
        conditional = bool(hp.values.get("conditional", False))
        return latent_inputs(len(data.test), hp.get("latent_dim"), data.num_classes if conditional else 0,
                             TEST_SEED)

    def eval_arrays(self, data, part, hp=None):
        """The generator's inputs (seeded latent vectors, and uniform class ids when conditional),
        one per real image of the part, and those real images in [-1, 1]."""
        if part != "test":
            raise ValueError("image generation evaluates on the test part only")
        return self.test_inputs(data, hp), self.unit_images(data, "test")[0]

    def representative_inputs(self, data, count, seed, hp=None):
        conditional = bool(hp.values.get("conditional", False))
        return latent_inputs(count, hp.get("latent_dim"), data.num_classes if conditional else 0, seed)

    def evaluate(self, targets, outputs, data) -> dict:
        """Generated images against the real test images, in the feature network's space."""
        from automl.tasks.image_generation import quality

        network = data.quality.network
        real = data.test_features if len(targets) == len(data.test_features) else network.features(targets)
        generated, probs = network.features_and_probabilities(np.asarray(outputs, dtype=np.float32))
        if not np.all(np.isfinite(generated)):
            return {"frechet_distance": float("inf")}
        metrics = {"frechet_distance": quality.frechet_distance(real, generated),
                   "kid": quality.kernel_inception_distance(real, generated),
                   **quality.precision_recall_density_coverage(real[:PRDC_SAMPLES], generated[:PRDC_SAMPLES]),
                   "floor_frechet_distance": data.floor, "samples": len(outputs)}
        if data.untrained is not None:
            metrics["untrained_frechet_distance"] = data.untrained
        if probs is not None:
            predicted = probs.argmax(-1)
            metrics["class_shares"] = class_shares(predicted, data.num_classes)
            metrics["mean_confidence"] = float(probs.max(-1).mean())
            if data.requested is not None and len(data.requested) == len(predicted):
                metrics["class_agreement"] = float(np.mean(predicted == data.requested))
        return metrics

    #: `automl predict RUN --samples N --out grid.png [CLASS ...]`: one grid of samples.
    bundle_reader = handed_over("automl.tasks.image_generation.bundle:SampleReader")

    #: Outputs judged by their pixels, the gate by the Frechet distance's relative increase.
    scorer = handed_over("automl.tasks.image_generation.scorer:GanScorer")

    def metadata(self, data, hp=None) -> dict:
        conditional = bool(hp.values.get("conditional", False)) if hp is not None else False
        inputs = {"latent": {"shape": [None, hp.get("latent_dim") if hp is not None else None],
                             "dtype": "float32", "draw": "standard normal, independent per element"}}
        if conditional:
            inputs["class_id"] = {"shape": [None, 1], "dtype": "int32", "range": [0, data.num_classes - 1],
                                  "labels": data.class_names}
        return {
            "labels": data.class_names if data.labelled else [],
            "inputs": inputs,
            "output": {"shape": [None, *data.image_shape], "dtype": "float32", "value_range": [-1, 1],
                       "to_pixels": "uint8 = clip(round((x + 1) * 127.5), 0, 255)",
                       "color": "grayscale" if data.image_shape[-1] == 1 else "RGB"},
        }

class GenerationView(ReportView):
    """What the terminal and the report show of ImageGeneration runs."""

    def shown_metrics(self) -> tuple[str, ...]:
        return (*self.task.goal.metric_names, "val_frechet_distance")

    def describe_profile(self, profile: dict) -> str:
        height, width = profile["image_size"]
        labels = f"{profile['num_classes']} classes" if profile["labelled"] else "no labels"
        return f"{super().describe_profile(profile)}, {height}x{width}x{profile['channels']}, {labels}"

    def describe_inference(self, inference: dict) -> str:
        kind = "class-conditional generator" if inference["conditional"] else "generator"
        untrained = inference.get("untrained_frechet_distance")
        return (f"the {kind} alone ({inference['params']:,} parameters, latent {inference['latent_dim']})"
                + (f"; untrained it scores a Frechet distance of {untrained}" if untrained is not None else ""))

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        from automl.report import figures
        from automl.tasks.image_generation import figures as gan_figures

        shown = np.arange(min(32, len(outputs)))
        titles = ([data.class_names[i] for i in data.requested[shown]]
                  if data.requested is not None else [""] * len(shown))
        out = [("Generated samples (test latent vectors)",
                figures.image_grid(unit_to_pixels(outputs[shown]), titles, [False] * len(shown)))]
        if data.samples_path is not None and data.samples_path.exists():
            with np.load(data.samples_path) as saved:
                by_epoch = {int(name.split("_")[1]): saved[name] for name in saved.files}
            out.append(("Samples after each epoch of the last training (fine-tuning), fixed latent vectors",
                        gan_figures.epoch_rows(by_epoch)))
        curve = gan_figures.distance_curve(report.get("finetune", {}).get("history", {}))
        if curve:
            out.append(("Fine-tuning: validation Frechet distance and losses", curve))
        shares = report.get("test_metrics", {}).get("class_shares")
        if shares:
            out.append(("Share of generated samples per class (the classifier's call)",
                        gan_figures.class_share_bars(shares, data.class_names)))
        out.append(("Memorization check: generated images and their nearest training images",
                    self._nearest_training_images(data, outputs[:8])))
        return out

    def _nearest_training_images(self, data, generated: np.ndarray, most: int = 10_000) -> str:
        from automl.tasks.image_generation.figures import nearest_pairs
        from automl.tasks.image_generation.quality import squared_distances

        network = data.quality.network
        train, _ = self.task.unit_images(data, "train", limit=most)
        distances = squared_distances(network.features(generated), network.features(train))
        nearest = distances.argmin(axis=1)
        return nearest_pairs(unit_to_pixels(generated), unit_to_pixels(train[nearest]),
                             np.sqrt(distances[np.arange(len(generated)), nearest]))


class GeneratorAlone(Inference):
    """A GAN's model apps run: its generator."""
    output_name = "images"

    def tflite_metadata(self, data, hp, config):
        from automl.app_metadata.describe import image_generator

        conditional = bool(hp.values.get("conditional", False))
        height, width, channels = data.image_shape
        return image_generator(config.run_name(), f"Image generator trained by automl on {config.data.path}",
                               hp.get("latent_dim"), list(data.class_names) if conditional else [],
                               "grey" if channels == 1 else "RGB", (height, width))

    def choose(self, model, data, hp, config, evidence=None):
        """The generator alone, and the untrained generator's distance for scale."""
        import keras

        from automl.tasks.image_generation.quality import frechet_distance

        generator = model.generator
        test_inputs = self.task.test_inputs(data, hp)
        # The class ids the test samples ask for: `evaluate` scores the classifier's agreement with them.
        data.requested = test_inputs["class_id"][:, 0] if isinstance(test_inputs, dict) else None
        inference = {"model": "generator", "params": int(generator.count_params()),
                     "latent_dim": hp.get("latent_dim"), "conditional": bool(model.conditional)}
        if data.quality is not None:  # the feature network of `before_search`
            keras.utils.set_random_seed(config.seed)
            untrained = keras.models.clone_model(generator)  # the same architecture, freshly initialized
            samples = untrained.predict(test_inputs, batch_size=256, verbose=0)
            data.untrained = frechet_distance(data.test_features, data.quality.network.features(samples))
            inference["untrained_frechet_distance"] = round(data.untrained, 4)
        return generator, inference
