"""Image segmentation: a class per pixel, from tiles of possibly large images.

The model takes a tile of raw pixels and returns per-pixel class
probabilities. Pixel values are mapped to 0..1 inside the model, with the
range of the training pixels, so phone code passes pixels as they are read.
Metrics come from one pixel confusion matrix over all tiles of a part.
"""

from __future__ import annotations

import numpy as np

from automl.tasks.image_segmentation.data import SegmentationData, load_segmentation_data
from automl.tasks.image_segmentation.metrics import segmentation_metrics
from automl.tasks.base import Task, handed_over
from automl.tasks.goal import Goal
from automl.tasks.colour_input import as_colour, grey_from_colour, model_shape, tf_as_colour
from automl.report_view import ReportView

AUGMENTATIONS = ("none", "flip", "flip_rotate", "flip_rotate_intensity")


class ImageSegmentation(Task):
    name = "image_segmentation"
    goal = Goal("val_mean_iou", "max", metric_names=("mean_iou",), headline="mean_iou")
    #: An int8 model that loses mean IoU is left out of the bundle; the run goes on.

    report_view = handed_over("automl.tasks.image_segmentation.task:SegmentationView")

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        from automl.tasks.image_segmentation.selection import rank_family

        return rank_family(name, profile, pretrained)

    def __init__(self):
        self.num_classes = 2

    def load_data(self, config, arrays=None) -> SegmentationData:
        data = load_segmentation_data(config.data, config.seed, arrays=arrays)
        self.num_classes = len(data.class_names)
        return data

    def profile(self, data: SegmentationData) -> dict:
        counts = np.bincount(data.train.masks.ravel(), minlength=len(data.class_names))
        height, width, channels = data.image_shape
        return {
            "source": data.source,
            "images": len(data.images),
            "image_sizes": sorted({f"{w}x{h}" for h, w in data.sizes}),
            "examples": int(sum(data.split_sizes().values())),
            "split_sizes": data.split_sizes(),
            "split_method": data.split_method,
            "regions": {part: len(boxes) for part, boxes in data.regions.items()},
            "tile_size": data.tile,
            "tile_overlap": data.overlap,
            "image_size": [height, width],
            "channels": channels,
            "num_classes": len(data.class_names),
            "class_names": data.class_names,
            "train_pixel_share": [round(float(c / max(counts.sum(), 1)), 4) for c in counts],
            "imbalance_ratio": round(float(counts.max() / max(counts.min(), 1)), 3),
            "intensity_range": [round(v, 3) for v in data.intensity_range],
        }

    #: Masks give no class to stratify search samples by.
    examples = handed_over("automl.data.examples:UnlabelledExamples")

    # -- model --------------------------------------------------------------

    def model_inputs(self, hp, data):
        import keras

        return keras.Input(model_shape(data.image_shape), name="input")

    def model_outputs(self, hp, inputs, backbone, data):
        import keras

        low, high = data.intensity_range
        scaled = keras.layers.Rescaling(1.0 / (high - low), offset=-low / (high - low), name="normalize")(
            grey_from_colour(inputs, data.image_shape))
        return self.build_head(hp, backbone(scaled), data)

    def build_head(self, hp, features, data):
        import keras

        return keras.layers.Conv2D(len(data.class_names), 1, activation="softmax", dtype="float32",
                                   name="masks")(features)

    def register_search_space(self, hp) -> None:
        hp.Choice("augmentation", list(AUGMENTATIONS), default="flip_rotate")
        from automl.tasks.image_segmentation.losses import LOSSES

        hp.Choice("loss", list(LOSSES), default="cross_entropy_dice")

    def loss(self, hp):
        from automl.tasks.image_segmentation.losses import segmentation_loss

        return segmentation_loss(hp.get("loss"))

    def metrics(self) -> list:
        import keras

        return [keras.metrics.MeanIoU(self.num_classes, sparse_y_pred=False, name="mean_iou")]

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        import tensorflow as tf

        tiles = data.part(part)
        if indices is not None:
            tiles = tiles.take(indices)
        ds = tf.data.Dataset.from_tensor_slices((tiles.images.astype(np.float32), tiles.masks.astype(np.int32)))
        if shuffle:
            ds = ds.shuffle(len(tiles), reshuffle_each_iteration=True)
            augmentation = hp.get("augmentation")
            if augmentation != "none":
                ds = ds.map(joint_augmenter(augmentation, data.intensity_range), num_parallel_calls=tf.data.AUTOTUNE)
        # Augmented as grey, given to the model as the RGB apps give it (automl.tasks.colour_input).
        return ds.batch(batch_size).map(lambda image, mask: (tf_as_colour(image), mask)).prefetch(tf.data.AUTOTUNE)

    def representative_inputs(self, data, count, seed, hp=None):
        return as_colour(data.train.images[self.examples.sample(data, "train", count, seed)].astype(np.float32))

    def eval_arrays(self, data, part, hp=None):
        tiles = data.part(part)
        return as_colour(tiles.images.astype(np.float32)), tiles.masks.astype(np.int64)

    # -- scoring ------------------------------------------------------------

    def evaluate(self, targets, outputs, data) -> dict:
        return segmentation_metrics(targets, outputs, outputs.shape[-1])

    def baselines(self, data, hp) -> dict:
        """Rules without a model (majority class, Otsu threshold): test metrics and val mean IoU."""
        from automl.tasks.image_segmentation.baselines import Baselines

        rules = Baselines(data.train.images, data.train.masks, len(data.class_names))
        scored = {}
        for part in ("val", "test"):
            images, masks = self.eval_arrays(data, part)
            scored[part] = {name: self.evaluate(masks, probs, data) for name, probs in rules.outputs(images).items()}
        return {"test": scored["test"],
                "validation": {name: m["mean_iou"] for name, m in scored["val"].items()}}

    def metadata(self, data, hp=None) -> dict:
        low, high = data.intensity_range
        return {
            "labels": data.class_names,
            "input": {
                "shape": [None, *model_shape(data.image_shape)],
                "dtype": "float32",
                "normalization": f"none outside the model: pass pixel values as read; inside, "
                                 f"{low:g}..{high:g} maps to 0..1",
                "color": ("RGB; the model turns it into grey itself (the data set is grey): grey images "
                          "go in as three equal channels") if data.image_shape[-1] == 1 else "RGB",
            },
            "tiling": {"tile_size": data.tile, "overlap": data.overlap,
                       "how": "cut larger images into overlapping tiles, average the overlapping "
                              "probabilities (weights fall off over the overlap), take the argmax"},
            "output": {"kind": "per-pixel class probabilities (softmax)", "shape": [None, data.tile, data.tile,
                                                                                   len(data.class_names)]},
        }

    def preprocessor(self, data, hp):
        from automl.tasks.image_segmentation.preprocessor import TilePreprocessor

        return TilePreprocessor(data.tile, data.overlap, model_shape(data.image_shape)[-1])

    bundle_reader = handed_over("automl.tasks.image_segmentation.bundle:MaskReader")
    #: What apps run: the model as trained, described for MediaPipe's ImageSegmenter.
    inference = handed_over("automl.tasks.image_segmentation.inference:SegmenterFiles")

def _most_varied(targets: np.ndarray, count: int) -> np.ndarray:
    """Tiles whose masks mix classes the most (single-class tiles show little)."""
    minority = np.array([np.bincount(t.ravel()).min() if len(np.unique(t)) > 1 else 0 for t in targets])
    return np.sort(np.argsort(-minority, kind="stable")[:count])


def joint_augmenter(kind: str, intensity_range):
    """Random flips and quarter turns applied to a tile and its mask together.

    `..._intensity` also scales and shifts the image's contrast (never the mask).
    """
    import tensorflow as tf

    low, high = intensity_range

    def augment(image, mask):
        mask = mask[..., None]
        if tf.random.uniform(()) < 0.5:
            image, mask = tf.image.flip_left_right(image), tf.image.flip_left_right(mask)
        if tf.random.uniform(()) < 0.5:
            image, mask = tf.image.flip_up_down(image), tf.image.flip_up_down(mask)
        if "rotate" in kind:
            turns = tf.random.uniform((), 0, 4, dtype=tf.int32)
            image, mask = tf.image.rot90(image, turns), tf.image.rot90(mask, turns)
        if "intensity" in kind:
            gain = tf.random.uniform((), 0.8, 1.2)
            shift = tf.random.uniform((), -0.1, 0.1) * (high - low)
            image = (image - low) * gain + low + shift
        return image, mask[..., 0]

    return augment

class SegmentationView(ReportView):
    """What the terminal and the report show of ImageSegmentation runs."""

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        from automl.tasks.image_segmentation import figures

        shown = _most_varied(targets, 8)
        predicted = outputs.argmax(-1)
        out = [("Test tiles: image, true mask, predicted mask",
                figures.mask_overlays(inputs[shown], targets[shown], predicted[shown],
                                      data.class_names, data.intensity_range))]
        first = data.test.boxes[0].image
        if len(data.test) == len(predicted) and data.images[first].shape[0] > data.tile:
            canvas = np.full(data.images[first].shape[:2], -1)
            for box, mask in zip(data.test.boxes, predicted):
                if box.image == first:
                    box.crop(canvas)[...] = mask
            regions = {part: [b for b in boxes if b.image == first] for part, boxes in data.regions.items()}
            out.append((f"Split regions of {data.names[first]}, and the test predictions in place",
                        figures.regions_overlay(data.images[first], canvas, regions, data.class_names,
                                                 data.intensity_range)))
        return out

    def describe_profile(self, profile: dict) -> str:
        return (f"{super().describe_profile(profile)} tiles of {profile['tile_size']} px from {profile['images']} "
                f"image(s), {profile['num_classes']} classes")

    def report_sections(self, report: dict) -> list[tuple[str, str]]:
        """Per-class IoU (and Dice) of the Keras model and of each verified TFLite model."""
        from automl.report.html import table

        metrics = report.get("test_metrics", {})
        if "per_class_iou" not in metrics:
            return []
        names = report.get("dataset", {}).get("class_names") or [str(i) for i in range(len(metrics["per_class_iou"]))]
        exports = [e for e in report.get("exports", []) if "per_class_iou" in e.get("test_metrics", {})
                   and e.get("format") == "tflite"]  # the .keras and SavedModel rows are the Keras model
        rows = [[name, metrics["per_class_iou"][i], metrics["per_class_dice"][i],
                 *(e["test_metrics"]["per_class_iou"][i] for e in exports)] for i, name in enumerate(names)]
        headers = ["class", "IoU (Keras)", "Dice (Keras)", *(f"IoU ({e['path'].rsplit('/', 1)[-1]})" for e in exports)]
        return [("Per-class IoU (test split)", table(headers, rows))]
