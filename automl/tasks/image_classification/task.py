"""Image classification: softmax head, accuracy and macro-F1, label order."""

from __future__ import annotations

import numpy as np

from automl.tasks.image_classification.data import load_image_data
from automl.data.split import stratified_sample
from automl.bundle_reader import LabelReader
from automl.tasks.classification import ClassificationTask
from automl.tasks.classification import ClassificationView
from automl.tasks.base import handed_over
from automl.tasks.colour_input import as_colour, grey_from_colour, model_shape, tf_as_colour


class ImageClassification(ClassificationTask):
    name = "image_classification"

    report_view = handed_over("automl.tasks.image_classification.task:ImageClassificationView")

    def load_data(self, config, arrays=None):
        return load_image_data(config.data, config.seed, arrays=arrays)

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        from automl.tasks.image_classification.selection import rank_family

        return rank_family(name, profile, pretrained)

    def profile(self, data) -> dict:
        return {**data.facts(), **self.label_profile(data), "flip_keeps_class": flip_keeps_class(data.part("train"))}

    def model_inputs(self, hp, data):
        import keras

        return keras.Input(model_shape(data.image_shape), name="input")

    def model_outputs(self, hp, inputs, backbone, data):
        """The softmax head on the backbone, which reads grey when the data set is grey."""
        return self.build_head(hp, backbone(grey_from_colour(inputs, data.image_shape)), data)

    def build_head(self, hp, features, data):
        import keras

        if len(features.shape) == 4:
            features = keras.layers.GlobalAveragePooling2D(name="head_pool")(features)
        rate = hp.Float("head_dropout", 0.0, 0.5, step=0.1, default=0.2)
        features = keras.layers.Dropout(rate, name="head_dropout")(features)
        return keras.layers.Dense(
            len(data.class_names), activation="softmax", dtype="float32", name="predictions"
        )(features)

    def register_search_space(self, hp):
        hp.Choice("augmentation", AUGMENTATIONS, default="flip_shift")
        hp.Choice("label_smoothing", LABEL_SMOOTHING, default=0.0)

    def loss(self, hp):
        import keras

        # Targets are one-hot (see train_dataset): Keras 3's sparse cross-entropy has no smoothing.
        # Trials saved before the choice existed trained without smoothing.
        return keras.losses.CategoricalCrossentropy(label_smoothing=hp.values.get("label_smoothing", 0.0))

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        import tensorflow as tf

        split = data.part(part)
        if indices is not None:
            split = split.take(indices)
        ds = split.to_dataset(data.image_shape)
        if shuffle:
            ds = ds.shuffle(min(len(split), 10_000), reshuffle_each_iteration=True)
        augmentation = hp.get("augmentation") if shuffle else "none"
        ds = ds.batch(batch_size)
        if augmentation != "none":
            ds = ds.map(batch_augmenter(data.image_shape, flip="flip" in augmentation,
                                        shift="shift" in augmentation, erase="erase" in augmentation),
                        num_parallel_calls=tf.data.AUTOTUNE)
        classes = len(data.class_names)
        # Augmented as grey (a third of the work), given to the model as the RGB apps give it.
        ds = ds.map(lambda images, labels: (tf_as_colour(images), tf.one_hot(tf.cast(labels, tf.int32), classes)),
                    num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    #: The model apps run may average each image and its mirror image (`export.mirror_average`).
    inference = handed_over("automl.tasks.image_classification.mirror_average:MirrorAverage")

    def representative_inputs(self, data, count, seed, hp=None):
        picked = stratified_sample(data.train.labels, count, seed)
        return as_colour(data.train.take(picked).to_numpy(data.image_shape)[0])

    def eval_arrays(self, data, part, hp=None):
        images, labels = data.part(part).to_numpy(data.image_shape)
        return as_colour(images), labels

    def preprocessor(self, data, hp):
        from automl.tasks.image_classification.preprocessor import ImagePreprocessor

        return ImagePreprocessor(model_shape(data.image_shape))

    bundle_reader = handed_over("automl.tasks.image_classification.task:ImageReader")

    def metadata(self, data, hp=None) -> dict:
        return {
            "labels": data.class_names,
            "input": {
                "shape": [None, *model_shape(data.image_shape)],
                "dtype": "float32",
                "value_range": [0, 255],
                "normalization": "none outside the model: pass raw pixel values 0..255; "
                                 "scaling happens inside the model",
                "color": ("RGB; the model turns it into grey itself (the data set is grey): grey images "
                          "go in as three equal channels") if data.image_shape[-1] == 1 else "RGB",
            },
            "output": {"kind": "class probabilities (softmax)", "classes": len(data.class_names)},
        }


class ImageReader(LabelReader):
    """An image classifier's bundle: checked on the test images as users pass them."""

    mediapipe_task = "ImageClassifier"

    def mediapipe_outputs(self, model_path, raw, data):
        from automl.mediapipe_tasks import classify_images

        return classify_images(model_path, raw, len(data.class_names))

    def raw_test_inputs(self, data):
        """The test image files when the data came from a folder (so the check reads, converts and
        resizes them as `automl predict` does), else the pixel arrays."""
        test = data.part("test")
        return list(test.paths) if test.paths is not None else self.task.eval_arrays(data, "test")[0]


#: Label smoothing choices, searched. Side by side (tests/benchmarks/training_arms.py, 24 epochs,
#: full Fashion-MNIST, seed 0) 0.1 gave test 0.9365 against 0.9355: within the noise. On 180 images
#: of 3 classes and 2 epochs it left a trial at chance where 0.0 learned, so the default is 0.0.
LABEL_SMOOTHING = [0.0, 0.1]


#: Training augmentations: flips, shifts and erased squares (cutout), alone or together.
AUGMENTATIONS = ["none", "flip", "shift", "flip_shift", "erase", "flip_erase"]
#: An erased square's side, as a share of the image's shorter side (8 of 32 pixels is the cutout
#: fast CIFAR-10 ResNet training uses; 7 of 28 on Fashion-MNIST).
ERASE_SIDE = 0.25


def batch_augmenter(image_shape, flip: bool, shift: bool, erase: bool = False):
    """Random left-right flips, shifts of up to 1/12 of each side (reflect-padded) and erased
    squares (cutout: a zeroed square a quarter of the shorter side wide, centred anywhere, so it
    may hang over the edge), drawn per image but applied to a whole batch at once: a third of
    the CPU time per-image maps took (one Fashion-MNIST epoch of 54,000 images: 1.0 s against
    3.1 s), time the training shares."""
    import tensorflow as tf

    height, width, _ = image_shape
    pad_h, pad_w = max(1, height // 12), max(1, width // 12)
    half = max(1, round(min(height, width) * ERASE_SIDE / 2))

    def augment(images, labels):
        count = tf.shape(images)[0]
        if flip:
            mirrored = tf.random.uniform([count]) < 0.5
            images = tf.where(mirrored[:, None, None, None], tf.reverse(images, axis=[2]), images)
        if shift:
            padded = tf.pad(images, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], mode="REFLECT")
            top = tf.random.uniform([count], 0, 2 * pad_h + 1, dtype=tf.int32)
            left = tf.random.uniform([count], 0, 2 * pad_w + 1, dtype=tf.int32)
            rows = top[:, None] + tf.range(height)[None, :]
            cols = left[:, None] + tf.range(width)[None, :]
            images = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
        if erase:
            centre_y = tf.random.uniform([count, 1], 0, height, dtype=tf.int32)
            centre_x = tf.random.uniform([count, 1], 0, width, dtype=tf.int32)
            inside_y = tf.abs(tf.range(height)[None, :] - centre_y) < half
            inside_x = tf.abs(tf.range(width)[None, :] - centre_x) < half
            erased = inside_y[:, :, None, None] & inside_x[:, None, :, None]
            images = tf.where(erased, tf.zeros_like(images), images)
        return images, labels

    return augment


def flip_keeps_class(train, limit: int = 5000) -> float | None:
    """Share of classes whose mean image, mirrored left-right, is still most like its own class's
    mean (correlation): high for clothes or scenes, where a flip is a fair augmentation; low for
    digits and letters, which a flip turns into other symbols. None when the images are files
    (not read here) or there is one class."""
    if train.arrays is None or not len(train):
        return None
    arrays, labels = train.arrays[:limit].astype(np.float32), train.labels[:limit]
    classes = np.unique(labels)
    if len(classes) < 2:
        return None
    means = np.stack([arrays[labels == c].mean(axis=0) for c in classes])
    mirrored = means[:, :, ::-1]

    def unit(images):
        flat = images.reshape(len(images), -1)
        flat = flat - flat.mean(axis=1, keepdims=True)
        return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)

    nearest = (unit(mirrored) @ unit(means).T).argmax(axis=1)
    return round(float(np.mean(nearest == np.arange(len(classes)))), 3)

class ImageClassificationView(ClassificationView):
    """What the terminal and the report show of ImageClassification runs."""

    def describe_profile(self, profile: dict) -> str:
        height, width = profile["image_size"]
        return f"{super().describe_profile(profile)}, {height}x{width}x{profile['channels']}"

    def describe_inference(self, inference: dict) -> str:
        used = "averaged over each image and its mirror image" if inference["used"] else "as trained"
        return f"{used} ({inference['why']})"

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        from automl.report import figures

        names = data.class_names
        predicted = outputs.argmax(-1)
        shown = np.arange(min(16, len(targets)))
        wrong = np.flatnonzero(predicted != targets)[:16]
        titles = lambda idx: [f"{names[predicted[i]]}\n(true {names[targets[i]]})" for i in idx]
        out = [("Sample test predictions", figures.image_grid(
                   inputs[shown], titles(shown), list(predicted[shown] != targets[shown])))]
        if len(wrong):
            out.append(("Misclassified test examples",
                        figures.image_grid(inputs[wrong], titles(wrong), [True] * len(wrong))))
        return out
