"""The exported files in MediaPipe Tasks (Python), the runtime apps load them in on Android, iOS
and the web: what verification runs beside LiteRT (`BundleReader.mediapipe_outputs`).

Each runner takes the raw inputs a user would hand the app (image files or pixel arrays, texts)
and returns what the Keras model returns for them (class probabilities, masks), so the task's
scorer compares the two as it compares LiteRT's. MediaPipe is the optional extra
`automl[mediapipe]`; without it nothing here runs and the report says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from automl.versions import installed_version

INSTALL = "pip install 'automl[mediapipe]'"
#: Test examples each file runs on in MediaPipe (one call per example: a big split is sampled by its
#: first ones, so the check's time stays bounded; the budget keeps time for it).
MAX_EXAMPLES = 1000
#: One example through a MediaPipe task costs about this many batched Keras forward passes of it
#: (a call per example, the image conversion), plus loading each file. Measured: Fashion-MNIST's
#: small CNN, 1,000 images through 4 files in 3 s where a Keras pass takes 0.31 ms an image (2.4x);
#: the quickstart's 150 PNGs through 3 files within its 0.5 s verify stage.
SLOWDOWN = 3.0
FILE_SECONDS = 0.1


def check_seconds(example_seconds: float, test_examples: int, files: int) -> float:
    """Seconds the check in MediaPipe takes for `files` files, from a batched forward pass's cost."""
    return files * (FILE_SECONDS + SLOWDOWN * example_seconds * min(test_examples, MAX_EXAMPLES))


def will_run(task) -> bool:
    """Whether verification will run this task's files in MediaPipe (it has a task and is installed)."""
    return task.bundle_reader.mediapipe_task is not None and version() is not None


def version() -> Optional[str]:
    """The installed mediapipe's version, or None."""
    return installed_version("mediapipe")


def _image(source):
    """An `mp.Image` from an image file or an (H, W, C) pixel array 0..255 (grey given as RGB)."""
    import mediapipe as mp

    if isinstance(source, (str, Path)):
        image = mp.Image.create_from_file(str(source))
        if image.image_format == mp.ImageFormat.SRGB:
            return image
        source = image.numpy_view()  # grey or with alpha: an app's camera frame is RGB
    pixels = np.asarray(source)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    pixels = np.ascontiguousarray(np.clip(np.rint(pixels[..., :3]), 0, 255).astype(np.uint8))
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels)


def classify_images(model_path: Path, images, classes: int) -> np.ndarray:
    """(N, classes) scores from MediaPipe's `ImageClassifier` for each image (file or pixels)."""
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                            max_results=classes)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        return _scores(lambda source: classifier.classify(_image(source)), images, classes)


def _scores(classify, inputs, classes: int) -> np.ndarray:
    """(N, classes) scores of a MediaPipe classifier's results, each category at its index."""
    scores = np.zeros((len(inputs), classes), np.float32)
    for row, one in enumerate(inputs):
        for category in classify(one).classifications[0].categories:
            scores[row, category.index] = category.score
    return scores


def segment_images(model_path: Path, images) -> np.ndarray:
    """(N, H, W) class ids of MediaPipe's `ImageSegmenter` category mask for each image."""
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                           output_category_mask=True, output_confidence_masks=False)
    masks = []
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        for source in images:
            mask = np.array(segmenter.segment(_image(source)).category_mask.numpy_view())
            masks.append(mask[..., 0] if mask.ndim == 3 else mask)  # (H, W, 1) in some releases
    return np.stack(masks)


def detect_objects(model_path: Path, images, labels: list[str], max_detections: int) -> dict:
    """MediaPipe's `ObjectDetector` on each image (file or pixels), shaped as a detector's four outputs:
    boxes (N, max_detections, 4) y_min, x_min, y_max, x_max relative to the image, classes, scores
    (highest first), and their count; and "pixel_grid", each image's (height, width): MediaPipe gives
    boxes in whole pixels (the corner and the size truncated), which a comparison must allow for."""
    from mediapipe.tasks.python import BaseOptions, vision

    n = len(images)
    boxes = np.zeros((n, max_detections, 4), np.float32)
    classes, scores = np.zeros((n, max_detections), np.float32), np.zeros((n, max_detections), np.float32)
    counts, grid = np.zeros(n, np.float32), np.zeros((n, 2), np.float32)
    options = vision.ObjectDetectorOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                           score_threshold=0.0, max_results=max_detections)
    with vision.ObjectDetector.create_from_options(options) as detector:
        for i, source in enumerate(images):
            image = _image(source)
            height, width = image.height, image.width
            grid[i] = height, width
            # MediaPipe merges the file's detections of one box into one detection with several
            # categories (a box both Shirt and T-shirt): each category is a detection again here.
            found = sorted(((detection.bounding_box, category) for detection in detector.detect(image).detections
                            for category in detection.categories), key=lambda pair: -pair[1].score)
            for d, (box, category) in enumerate(found[:max_detections]):
                boxes[i, d] = [box.origin_y / height, box.origin_x / width, (box.origin_y + box.height) / height,
                               (box.origin_x + box.width) / width]
                # The category's index is None when the file names its labels.
                classes[i, d] = category.index if category.index is not None else labels.index(category.category_name)
                scores[i, d] = category.score
            counts[i] = min(len(found), max_detections)
    return {"detection_boxes": boxes, "detection_classes": classes, "detection_scores": scores,
            "num_detections": counts, "pixel_grid": grid}


def classify_texts(model_path: Path, texts, classes: int) -> np.ndarray:
    """(N, classes) scores from MediaPipe's `TextClassifier` for each text."""
    from mediapipe.tasks.python import BaseOptions, text

    options = text.TextClassifierOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                         max_results=classes)
    with text.TextClassifier.create_from_options(options) as classifier:
        return _scores(lambda one: classifier.classify(str(one)), texts, classes)
