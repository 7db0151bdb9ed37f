"""`automl predict model.tflite INPUT...`: a .tflite file alone, read through the TFLite Metadata it
carries (labels, image size, normalization), as MediaPipe Tasks reads it; no bundle JSON files.

Image classifiers give a label and its confidence per image, BERT text classifiers per text (the
WordPiece vocabulary packed in the file tokenizes it); image segmenters a class-index mask PNG per
image (the image resized to the model's input as MediaPipe does, the mask back to the image's
size); object detectors their boxes in the image's own pixels (`--min-score`, and `--out-dir`
draws them). Other files carry no metadata that says how to feed them: the error says to pass
the bundle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.errors import DataError


class LoneModel:
    """Args: path, a .tflite file with TFLite Metadata for an image classifier, segmenter or object
    detector or a BERT text classifier."""

    def __init__(self, path: str | Path):
        from automl.app_metadata.packing import read_metadata
        from automl.verify import LiteRTModel

        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: no such .tflite file")
        metadata, files = read_metadata(self.path.read_bytes())
        if metadata is None:
            raise DataError(f"{self.path} carries no TFLite Metadata (labels, input description), so it cannot "
                            f"be run alone: pass the run directory or its export/ folder instead")
        graph = metadata["subgraph_metadata"][0]
        image = graph["input_tensor_metadata"][0]
        output = graph["output_tensor_metadata"][0]
        label_file = next((f["name"] for f in output.get("associated_files", []) if f["type"] == "TENSOR_AXIS_LABELS"),
                          None)
        # A detector's class output carries its labels as values, not along an axis.
        class_file = next((f["name"] for out in graph["output_tensor_metadata"]
                           for f in out.get("associated_files", []) if f["type"] == "TENSOR_VALUE_LABELS"), None)
        self.detects = class_file in files
        label_file = class_file if self.detects else label_file
        self.labels = files[label_file].decode("utf-8").splitlines() if label_file in files else None
        self.model = LiteRTModel(self.path)
        self.tokenizer = _packed_wordpiece(graph, files, self.model)
        if self.tokenizer is not None and self.labels:
            self.segments = False
            return
        properties = image.get("content", {}).get("content_properties", {}).get("ImageProperties")
        if not properties or not self.labels:
            raise DataError(f"{self.path}: its metadata describes no image or text classifier input; only image "
                            f"classifiers, segmenters and object detectors and BERT text classifiers run alone "
                            f"(pass the bundle for the others)")
        size = properties["default_size"]
        self.height, self.width = int(size["height"]), int(size["width"])
        normalization = image["process_units"][0]["options"]["NormalizationOptions"]
        self.mean = np.asarray(normalization["mean"], np.float32)
        self.std = np.asarray(normalization["std"], np.float32)
        output_kind = output.get("content", {}).get("content_properties", {})
        self.segments = "ImageProperties" in output_kind

    def arguments(self, parser) -> None:
        """The options of this kind of file (a detector's `--min-score`)."""
        if self.detects:
            from automl.tasks.object_detection.bundle import box_options

            box_options(parser)

    def _pixels(self, path) -> tuple[np.ndarray, np.ndarray]:
        """The image at `path` as the model's normalized input, and the image's own pixels."""
        from PIL import Image, UnidentifiedImageError

        from automl.tasks.image_classification.preprocessor import resize_bilinear

        try:
            with Image.open(path) as opened:
                pixels = np.asarray(opened.convert("RGB"), dtype=np.float32)
        except FileNotFoundError:
            raise DataError("no such image file") from None
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise DataError(f"cannot read the image: {type(err).__name__}: {err}") from None
        resized = resize_bilinear(pixels, self.height, self.width)
        return (resized - self.mean) / self.std, pixels

    def rows(self, inputs, out_dir: Path, options: dict | None = None) -> list[dict]:
        """One row per image: label and confidence, or the mask written into `out_dir`; a detector's
        one per box (`options`: its `min_score`)."""
        from automl.predict import rows_for_each

        if self.detects:
            from automl.tasks.object_detection.bundle import MIN_SCORE, box_rows

            threshold = (options or {}).get("min_score", MIN_SCORE)

            def detect(item):
                normalized, pixels = self._pixels(item)
                return box_rows(item, pixels, self.model.predict(normalized[None]), self.labels, threshold, out_dir)

            return rows_for_each(inputs, detect)
        return rows_for_each(inputs, lambda item: [self._row(item, out_dir)])

    def _row(self, item, out_dir: Path) -> dict:
        if self.tokenizer is not None:
            from automl.tasks.text_classification.tokenizers import encode_inputs

            output = self.model.predict(encode_inputs(self.tokenizer, [str(item)]))[0]
            return {"input": str(item), "label": self.labels[int(output.argmax())],
                    "confidence": round(float(output.max()), 4)}
        pixels, original = self._pixels(item)
        height, width = original.shape[:2]
        output = self.model.predict(pixels[None])[0]
        if not self.segments:
            return {"input": str(item), "label": self.labels[int(output.argmax())],
                    "confidence": round(float(output.max()), 4)}
        from PIL import Image

        from automl.tasks.image_segmentation.bundle import mask_names

        classes = Image.fromarray(output.argmax(-1).astype(np.uint8)).resize((width, height), Image.NEAREST)
        out_dir.mkdir(parents=True, exist_ok=True)
        mask_path = out_dir / mask_names([item])[0]
        classes.save(mask_path)
        shares = np.bincount(np.asarray(classes).ravel(), minlength=len(self.labels)) / (height * width)
        return {"input": str(item), "mask": str(mask_path),
                "class_share": {name: round(float(s), 4) for name, s in zip(self.labels, shares)}}

    def show(self, row: dict) -> str:
        if self.detects:
            from automl.tasks.object_detection.bundle import show_box_row

            return show_box_row(row)
        if "mask" in row:
            return f"{row['mask']}\t{row['class_share']}\t{row['input']}"
        return f"{row['label']}\t{row['confidence']:.3f}\t{row['input']}"


def _packed_wordpiece(graph: dict, files: dict, model):
    """The WordPiece tokenizer a BERT text classifier's metadata packs (its vocabulary file; texts
    lowercased, as MediaPipe's TextClassifier does), at the model's sequence length; None for
    other models."""
    from automl.tasks.text_classification.tokenizers import WordPieceTokenizer

    for unit in graph.get("input_process_units") or []:
        options = unit.get("options", {}).get("BertTokenizerOptions")
        if options:
            vocabulary = files[options["vocab_file"][0]["name"]].decode("utf-8").splitlines()
            return WordPieceTokenizer(vocabulary, int(model.input["shape"][1]), lowercase=True)
    return None
