"""Object detection: boxes and classes of the objects in an image.

The model takes the image's pixels as read (0..255, resized to a square
`input_size`) and, as trained, returns for every anchor its box regressions,
the anchor itself and the class logits (`head.py`); the loss matches anchors
to the true boxes inside the graph (`losses.py`). What is evaluated, exported
and verified is that model with decoding and non-maximum suppression added
(`inference.DetectorFiles`): four outputs, boxes (y_min, x_min, y_max, x_max
relative to the image), classes, scores and their count, as MediaPipe's
ObjectDetector reads them. Metrics are COCO's (pycocotools).
"""

from __future__ import annotations

import numpy as np

from automl.errors import ConfigError
from automl.report_view import ReportView
from automl.tasks.base import Task, handed_over
from automl.tasks.goal import Goal
from automl.tasks.object_detection.data import DetectionData, load_detection_data

AUGMENTATIONS = ("none", "flip_zoom")


class ObjectDetection(Task):
    name = "object_detection"
    # The loss is what Keras can log each epoch; COCO's AP needs decoded, suppressed boxes, so it is the
    # headline on the test split (and what gates the exported files).
    goal = Goal("val_loss", "min", headline="ap50")

    report_view = handed_over("automl.tasks.object_detection.task:DetectionView")
    inference = handed_over("automl.tasks.object_detection.inference:DetectorFiles")
    scorer = handed_over("automl.tasks.object_detection.scorer:DetectionScorer")
    bundle_reader = handed_over("automl.tasks.object_detection.bundle:BoxReader")
    trainer = handed_over("automl.tasks.object_detection.trainer:DetectionTrainer")
    #: Images give no single class to stratify search samples by.
    examples = handed_over("automl.data.examples:UnlabelledExamples")

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        from automl.tasks.object_detection.selection import rank_family

        return rank_family(name, profile, pretrained)

    def load_data(self, config, arrays=None) -> DetectionData:
        if arrays is not None:
            raise ConfigError("object_detection reads a folder of annotated images (COCO JSON, Pascal VOC or YOLO "
                              "labels) from data.path; arrays in memory are not supported")
        return load_detection_data(config.data, config.seed)

    def profile(self, data: DetectionData) -> dict:
        boxes = [image.boxes for image in data.annotations]
        counts = np.array([len(b) for b in boxes])
        relative = np.concatenate([np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) / (image.width * image.height))
                                   for b, image in zip(boxes, data.annotations) if len(b)])
        train_classes = data.train.classes[data.train.classes >= 0]
        per_class = np.bincount(train_classes, minlength=data.num_classes)
        return {
            "source": data.source,
            "layout": data.layout,
            "class_names_from": data.names_from,
            "images": len(data.annotations),
            "examples": int(sum(data.split_sizes().values())),
            "split_sizes": data.split_sizes(),
            "split_method": data.split_method,
            "image_sizes": _size_summary(data),
            "boxes": int(counts.sum()),
            "boxes_per_image": {"mean": round(float(counts.mean()), 2), "max": int(counts.max()),
                                "without_boxes": int((counts == 0).sum())},
            # A box's side as a share of the image's (the square root of its area share).
            "box_side_share": {f"p{q}": round(float(np.percentile(relative, q)), 4) for q in (10, 50, 90)},
            "num_classes": data.num_classes,
            "class_names": data.class_names,
            "train_boxes_per_class": {name: int(n) for name, n in zip(data.class_names, per_class)},
            "imbalance_ratio": round(float(per_class.max() / max(per_class.min(), 1)), 2),
            "input_size": data.input_size,
            "input_size_why": data.input_size_why,
            "anchors": data.anchor_plan.to_dict(),
            "skipped": data.skipped,
        }

    # -- model --------------------------------------------------------------

    def model_inputs(self, hp, data):
        import keras

        return keras.Input(data.image_shape, name="image")

    def model_outputs(self, hp, inputs, backbone, data):
        import keras

        from automl.tasks.object_detection.head import detection_head

        scaled = keras.layers.Rescaling(1.0 / 255.0, name="normalize")(inputs)
        plan = data.anchor_plan
        return detection_head(hp, backbone(scaled), plan.anchors(data.input_size), plan.per_cell, data.num_classes)

    def register_search_space(self, hp) -> None:
        hp.Choice("augmentation", list(AUGMENTATIONS), default="flip_zoom")

    def loss(self, hp):
        from automl.tasks.object_detection.losses import detection_loss

        return detection_loss()

    def metrics(self) -> list:
        return []

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        import tensorflow as tf

        from automl.tasks.object_detection.augment import augment

        images = data.part(part)
        if indices is not None:
            images = images.take(indices)
        moving = shuffle and hp.get("augmentation") != "none"

        def prepare(image, boxes, classes):
            image = tf.cast(image, tf.float32)
            if moving:
                image, boxes, classes = augment(image, boxes, classes)
            return image, tf.concat([boxes, tf.cast(classes, tf.float32)[:, None]], axis=-1)

        ds = tf.data.Dataset.from_tensor_slices((images.images, images.boxes, images.classes))
        if shuffle:
            ds = ds.shuffle(len(images), reshuffle_each_iteration=True)
        return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def representative_inputs(self, data, count, seed, hp=None):
        return data.train.images[self.examples.sample(data, "train", count, seed)].astype(np.float32)

    def eval_arrays(self, data, part, hp=None):
        images = data.part(part)
        return images.images.astype(np.float32), targets_of(images)

    # -- scoring ------------------------------------------------------------

    def evaluate(self, targets, outputs, data) -> dict:
        from automl.tasks.object_detection.layers import OUTPUT_NAMES
        from automl.tasks.object_detection.metrics import coco_metrics

        if not isinstance(outputs, dict) or set(OUTPUT_NAMES) - set(outputs):
            raise ValueError(f"object_detection scores detections ({', '.join(OUTPUT_NAMES)}); received "
                             f"{type(outputs).__name__} {sorted(outputs) if isinstance(outputs, dict) else ''}")
        return coco_metrics(targets[..., :4], targets[..., 4].astype(np.int64), *(outputs[k] for k in OUTPUT_NAMES),
                            data.class_names, data.input_size)

    def baselines(self, data, hp) -> dict:
        """Boxes of the connected regions of an Otsu threshold (no model), scored like the model."""
        from automl.tasks.object_detection.baselines import OtsuComponents

        rule = OtsuComponents(data)
        scored = {part: self.evaluate(targets_of(data.part(part)), rule.detect(data.part(part).images), data)
                  for part in ("val", "test")}
        return {"test": {"otsu_components": scored["test"]},
                "validation": {"otsu_components": scored["val"]["ap50"]},
                "notes": {"otsu_components": rule.describe()}}

    def metadata(self, data, hp=None) -> dict:
        from automl.tasks.object_detection.layers import MAX_DETECTIONS, OUTPUT_NAMES, SCORE_FLOOR

        size = data.input_size
        return {
            "labels": data.class_names,
            "input": {"shape": [None, size, size, 3], "dtype": "float32",
                      "normalization": "none outside the model: pass RGB pixel values 0..255 as read, the image "
                                       f"stretched to {size}x{size} (boxes are relative, so they fit the "
                                       "original image as they are)"},
            "output": {
                "names": list(OUTPUT_NAMES),
                "detection_boxes": f"(batch, {MAX_DETECTIONS}, 4): y_min, x_min, y_max, x_max relative to the image",
                "detection_classes": f"(batch, {MAX_DETECTIONS}): class index into labels (float)",
                "detection_scores": f"(batch, {MAX_DETECTIONS}): 0..1, highest first; rows past the count are 0",
                "num_detections": "(batch,): how many rows hold detections",
                "score_floor": SCORE_FLOOR,
            },
            "anchors": data.anchor_plan.to_dict(),
        }

    def preprocessor(self, data, hp):
        from automl.tasks.object_detection.preprocessor import DetectionPreprocessor

        return DetectionPreprocessor(data.input_size)


def targets_of(images) -> np.ndarray:
    """(N, M, 5) float32: each image's boxes and class (-1 pads), as the loss and `evaluate` read them."""
    return np.concatenate([images.boxes, images.classes[..., None].astype(np.float32)], axis=-1)


def _size_summary(data: DetectionData) -> list[str]:
    sizes = sorted({f"{image.width}x{image.height}" for image in data.annotations})
    return sizes if len(sizes) <= 5 else [*sizes[:2], f"... {len(sizes)} sizes ...", *sizes[-2:]]


class DetectionView(ReportView):
    """What the terminal and the report show of ObjectDetection runs."""

    def describe_inference(self, inference: dict) -> str:
        return inference["decoding"]

    def describe_profile(self, profile: dict) -> str:
        boxes = profile["boxes_per_image"]
        return (f"{super().describe_profile(profile)}, {profile['layout']} layout, {profile['num_classes']} "
                f"class(es), {profile['boxes']} boxes ({boxes['mean']:g} per image, {boxes['without_boxes']} "
                f"image(s) without), input {profile['input_size']} px")

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        from automl.tasks.object_detection import figures

        metrics = report.get("test_metrics", {})
        out = [("Test images: true boxes (green) and detections (orange, score >= 0.3)",
                figures.boxes_on_images(inputs, targets, outputs, data.class_names))]
        curve = metrics.get("pr_curve_iou50") or {}
        if curve.get("recall"):
            out.append(("Precision-recall at IoU 0.5 (mean over classes, test split)", figures.pr_curve(curve)))
        return out

    def report_sections(self, report: dict) -> list[tuple[str, str]]:
        """AP per class of the Keras model and of each verified TFLite file."""
        from automl.report.html import table

        metrics = report.get("test_metrics", {})
        if "per_class" not in metrics:
            return []
        exports = [e for e in report.get("exports", []) if "per_class" in e.get("test_metrics", {})
                   and e.get("format") == "tflite"]  # the .keras and SavedModel rows are the Keras model
        rows = [[name, values["ap50"], values["ap"],
                 *(e["test_metrics"]["per_class"].get(name, {}).get("ap50") for e in exports)]
                for name, values in metrics["per_class"].items()]
        headers = ["class", "AP50 (Keras)", "AP 0.5:0.95 (Keras)",
                   *(f"AP50 ({e['path'].rsplit('/', 1)[-1]})" for e in exports)]
        return [("AP per class (test split)", table(headers, rows))]
