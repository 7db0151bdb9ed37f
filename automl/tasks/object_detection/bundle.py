"""`automl predict` on a detector's bundle: the boxes in each image file, from the bundle alone
(metadata.json, preprocessor.json, a .tflite, numpy, Pillow and LiteRT), and with --out-dir the
images with their boxes drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.bundle_reader import BundleReader

#: Detections listed unless --min-score says otherwise.
MIN_SCORE = 0.3


class BoxReader(BundleReader):
    def arguments(self, parser) -> None:
        box_options(parser)

    def rows(self, export_dir, metadata, model_path, inputs, options):
        """One row per detection: the image, class, score and box in the image's own pixels (x, y of the
        top-left corner, width, height); an image without detections gets one row saying so."""
        from automl.predict import rows_for_each
        from automl.preprocessing import load_preprocessor
        from automl.data.images import read_image
        from automl.verify import LiteRTModel

        preprocessor, model = load_preprocessor(export_dir), LiteRTModel(model_path)
        labels, threshold = metadata["labels"], options.get("min_score", MIN_SCORE)
        out_dir = options.get("out_dir")

        def detect(path):
            pixels = read_image(Path(path))
            return box_rows(path, pixels, model.predict(preprocessor.encode([pixels])), labels, threshold, out_dir)

        return rows_for_each(inputs, detect)

    def raw_test_inputs(self, data):
        """The test images as their files, read and resized by the bundle's preprocessor as in training."""
        return list(data.test.names)

    mediapipe_task = "ObjectDetector"

    def mediapipe_inputs(self, data):
        """The test images as an app's RGB frames at the model's size (MediaPipe resizes others itself)."""
        return list(data.test.images)

    def mediapipe_outputs(self, model_path, raw, data):
        from automl.mediapipe_tasks import detect_objects
        from automl.tasks.object_detection.layers import MAX_DETECTIONS

        return detect_objects(model_path, raw, list(data.class_names), MAX_DETECTIONS)

    def show(self, row: dict) -> str:
        return show_box_row(row)


def box_options(parser) -> None:
    """`automl predict`'s options for a detector (its bundle or its file alone)."""
    parser.add_argument("--min-score", type=float, default=MIN_SCORE,
                        help=f"object detection: list detections scoring at least this (default {MIN_SCORE})")


def show_box_row(row: dict) -> str:
    if row.get("class") is None:
        return f"{row['input']}\t{row.get('note', '')}{chr(9) + row['drawn'] if row.get('drawn') else ''}"
    return f"{row['input']}\t{row['class']}\t{row['score']}\t{row['x']}\t{row['y']}\t{row['w']}\t{row['h']}"


def box_rows(path, pixels: np.ndarray, found: dict, labels: list[str], threshold: float, out_dir=None) -> list[dict]:
    """The rows of one image's detections (`found`: the file's four outputs for it alone) scoring
    `threshold` or more, boxes in the image's own pixels; with `out_dir`, the image with them drawn."""
    height, width = pixels.shape[:2]
    rows = []
    for d in range(int(found["num_detections"][0])):
        score = float(found["detection_scores"][0, d])
        if score < threshold:
            continue
        y0, x0, y1, x1 = found["detection_boxes"][0, d] * [height, width, height, width]
        rows.append({"input": str(path), "class": labels[int(found["detection_classes"][0, d])],
                     "score": round(score, 4), "x": round(float(x0), 1), "y": round(float(y0), 1),
                     "w": round(float(x1 - x0), 1), "h": round(float(y1 - y0), 1)})
    note = {"class": None, "note": f"no detection scores {threshold} or more"}
    if out_dir:
        rows = rows or [{"input": str(path), **note}]
        rows[0]["drawn"] = str(draw_boxes(pixels, rows, Path(out_dir) / f"{Path(path).stem}_boxes.png"))
    return rows or [{"input": str(path), **note}]


def draw_boxes(pixels: np.ndarray, rows: list[dict], path: Path) -> Path:
    """The image with each row's box and label drawn, saved as a PNG."""
    from PIL import Image, ImageDraw

    from automl.tasks.object_detection.data import as_rgb_uint8

    image = Image.fromarray(as_rgb_uint8(pixels, None))
    pen = ImageDraw.Draw(image)
    for row in rows:
        if row.get("class") is None:
            continue
        x0, y0 = row["x"], row["y"]
        pen.rectangle([x0, y0, x0 + row["w"], y0 + row["h"]], outline=(255, 140, 0), width=2)
        pen.text((x0 + 2, y0 + 1), f"{row['class']} {row['score']:.2f}", fill=(255, 140, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
