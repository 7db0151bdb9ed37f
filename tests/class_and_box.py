"""A task that lives outside automl, with two named outputs: each image's class and the box around
its item. Registered by tests/test_two_outputs.py through the public registries only; nothing under
automl/ names it, so it shows what a new task (object detection, say) needs of the generic stages.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
from pydantic import Field

from automl.config.schema import PipelineConfig
from automl.families.small_cnn import SmallCNN
from automl.scorer import Scorer, argmax_agreement
from automl.tasks.classification import classification_metrics
from automl.tasks.image_classification.config import ImageClassificationData, ImageClassificationExport
from automl.tasks.image_classification.task import ImageClassification, ImageClassificationView, ImageReader
from automl.tasks.base import handed_over
from automl.tasks.goal import Goal

NAME = "class_and_box"
#: A pixel brighter than this belongs to the item (Fashion-MNIST backgrounds are 0).
INK = 32


def item_boxes(images: np.ndarray) -> np.ndarray:
    """(top, left, bottom, right) of each image's pixels brighter than INK, as shares of its sides."""
    mask = images[..., 0] > INK
    height, width = mask.shape[1:]
    rows, cols = mask.any(axis=2), mask.any(axis=1)
    top, bottom = rows.argmax(axis=1), height - rows[:, ::-1].argmax(axis=1)
    left, right = cols.argmax(axis=1), width - cols[:, ::-1].argmax(axis=1)
    return np.stack([top / height, left / width, bottom / height, right / width], axis=1).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes given as (top, left, bottom, right)."""
    high = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = high[:, 0] * high[:, 1]
    area = lambda box: np.clip(box[:, 2] - box[:, 0], 0, None) * np.clip(box[:, 3] - box[:, 1], 0, None)  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def _mean_box_logits(data) -> list[float]:
    """The box head starts at the training part's mean box (a few epochs then refine it)."""
    images, _ = data.part("train").to_numpy(data.image_shape)
    mean = np.clip(item_boxes(images).mean(axis=0), 0.01, 0.99)
    return [float(v) for v in np.log(mean / (1 - mean))]


class ClassAndBox(ImageClassification):
    name = NAME
    goal = Goal("val_label_accuracy", "max", metric_names=("label_accuracy",), headline="accuracy")

    report_view = handed_over("tests.class_and_box:ClassAndBoxView")

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        return 1.0, ["a backbone for 28x28 images"], None

    def register_search_space(self, hp):
        """No flips or shifts: they would move the box the targets give."""

    def build_head(self, hp, features, data):
        import keras

        features = keras.layers.GlobalAveragePooling2D(name="head_pool")(features)
        features = keras.layers.Dropout(hp.Float("head_dropout", 0.0, 0.3, step=0.1, default=0.1))(features)
        return {"label": keras.layers.Dense(len(data.class_names), activation="softmax", dtype="float32",
                                            name="label")(features),
                "box": keras.layers.Dense(4, activation="sigmoid", dtype="float32", name="box",
                                          bias_initializer=keras.initializers.Constant(_mean_box_logits(data)))(features)}

    def loss(self, hp):
        import keras

        return {"label": keras.losses.CategoricalCrossentropy(), "box": keras.losses.MeanSquaredError()}

    def metrics(self):
        return {"label": ["accuracy"]}

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        import tensorflow as tf

        images, targets = self.eval_arrays(data, part, hp)
        if indices is not None:
            images, targets = images[indices], {k: v[indices] for k, v in targets.items()}
        targets["label"] = np.eye(len(data.class_names), dtype=np.float32)[targets["label"]]
        ds = tf.data.Dataset.from_tensor_slices((images.astype(np.float32), targets))
        if shuffle:
            ds = ds.shuffle(len(images), reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def eval_arrays(self, data, part, hp=None):
        from automl.tasks.colour_input import as_colour

        images, labels = data.part(part).to_numpy(data.image_shape)
        # The model takes RGB (image models do: automl.tasks.colour_input); the box is found in grey.
        return as_colour(images), {"label": labels, "box": item_boxes(images)}

    def evaluate(self, targets, outputs, data) -> dict:
        metrics = classification_metrics(targets["label"], outputs["label"], len(data.class_names))
        return {**metrics, "box_iou": float(box_iou(targets["box"], outputs["box"]).mean())}

    scorer = handed_over("tests.class_and_box:ClassAndBoxScorer")

    #: The model as trained (no mirror average: a mirrored image's box is elsewhere).
    inference = handed_over("automl.inference:Inference")

    def metadata(self, data, hp=None) -> dict:
        return {**super().metadata(data, hp),
                "output": {"label": "class probabilities (softmax)",
                           "box": "top, left, bottom, right of the item, as shares of the image's sides"}}

    bundle_reader = handed_over("tests.class_and_box:ClassAndBoxReader")


class ClassAndBoxReader(ImageReader):
    """`automl predict`: the label, its confidence and the box of each image."""

    def rows(self, export_dir, metadata, model_path, inputs, options) -> list[dict]:
        from automl.predict import rows_for_each
        from automl.preprocessing import load_preprocessor
        from automl.verify import LiteRTModel

        model, preprocessor = LiteRTModel(model_path), load_preprocessor(export_dir)

        def produce(item):
            outputs = preprocessor.run(model.predict, [item])
            probabilities = outputs["label"][0]
            return [{"input": str(item), "label": metadata["labels"][int(probabilities.argmax())],
                     "confidence": round(float(probabilities.max()), 4),
                     "box": [round(float(v), 3) for v in outputs["box"][0]]}]

        return rows_for_each(inputs, produce)

    def show(self, row: dict) -> str:
        return f"{row['label']}\t{row['confidence']:.3f}\t{row['box']}\t{row['input']}"


class ClassAndBoxScorer(Scorer):
    """Both outputs against the Keras model's: the class's agreement, the box's largest error."""

    def compare(self, reference, outputs, data) -> dict:
        return {"agreement": argmax_agreement(reference["label"], outputs["label"]),
                "box_max_abs_error": float(np.abs(reference["box"] - outputs["box"]).max())}


class ClassAndBoxConfig(PipelineConfig):
    task: Literal["class_and_box"]
    data: ImageClassificationData
    export: ImageClassificationExport = Field(default_factory=ImageClassificationExport)


class BoxCNN(SmallCNN):
    """automl's small CNN, serving this task too."""

    info = dataclasses.replace(SmallCNN.info, name="box_cnn", tasks=(NAME,))

class ClassAndBoxView(ImageClassificationView):
    """What the terminal and the report show of ClassAndBox runs."""

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        return []
