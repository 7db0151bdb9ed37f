"""The TFLite Metadata of each kind of model apps run through a task library (MediaPipe Tasks,
LiteRT Support): what the model takes and gives, and the files it needs, as dicts for
`packing.with_metadata`. Each returns (metadata, {file name: bytes})."""

from __future__ import annotations

#: The oldest metadata parser that reads what these write (labels, normalization, image sizes).
MIN_PARSER_VERSION = "1.0.0"
#: Tokenizers in a subgraph's input process units came with this version of the schema.
TOKENIZER_PARSER_VERSION = "1.1.0"


def image_classifier(name: str, description: str, size: tuple[int, int], labels: list[str],
                     grey_inside: bool = False) -> tuple[dict, dict]:
    """A classifier of (height, width) RGB images given as pixel values 0..255 (the model scales them
    itself, so the normalization is the identity), returning class probabilities. `grey_inside`:
    the model was trained on grey images and turns its RGB input into grey itself."""
    image = _rgb_image(size, grey_inside, "values 0..255 (scaled inside the model)")
    return _general(name, description, [image], [_probabilities(labels)]), _labels_file(labels)


def _probabilities(labels: list[str]) -> dict:
    """A classifier's output: class probabilities, with the class names packed in."""
    return {
        "name": "probability",
        "description": f"Probability of each of the {len(labels)} classes (softmax: they sum to 1)",
        "content": {"content_properties": {"FeatureProperties": {}}},
        "stats": {"max": [1.0], "min": [0.0]},
        "associated_files": [{"name": "labels.txt", "description": "Class names, one per line, in output order",
                              "type": "TENSOR_AXIS_LABELS"}],
    }


def image_segmenter(name: str, description: str, size: tuple[int, int], labels: list[str], grey_inside: bool,
                    intensity_range: tuple[float, float]) -> tuple[dict, dict]:
    """A segmenter of (height, width) RGB tiles returning per-pixel class probabilities (softmax), as
    MediaPipe's ImageSegmenter reads it (its category mask is their argmax). The model takes pixel
    values as read and maps the training images' intensity range to 0..1 itself: 8-bit data
    (`eight_bit`) takes an app's pixels unchanged, other data (16-bit, 0..1 floats) gets them
    stretched over its range by the normalization."""
    low, high = (float(v) for v in intensity_range)
    mean, std, pixels = 0.0, 1.0, "values 0..255 as read (scaled inside the model)"
    if not eight_bit(intensity_range):
        std = 255.0 / (high - low) if high > low else 1.0
        mean, pixels = -low * std, f"values 0..255, stretched over the training images' {low:g}..{high:g}"
    masks = {
        "name": "segmentation_masks",
        "description": f"Probability of each of the {len(labels)} classes at each pixel (softmax); the "
                       f"category mask is their argmax",
        "content": {"content_properties": {"ImageProperties": {"color_space": "GRAYSCALE"}},
                    "range": {"min": 1, "max": 2}},
        "associated_files": [{"name": "labels.txt", "description": "Class names, one per line, in channel order",
                              "type": "TENSOR_AXIS_LABELS"}],
    }
    image = _rgb_image(size, grey_inside, pixels, mean, std)
    return _general(name, description, [image], [masks]), _labels_file(labels)


def object_detector(name: str, description: str, size: int, labels: list[str], max_detections: int) -> tuple[dict, dict]:
    """A detector of (size, size) RGB frames (pixel values as read) whose file decodes and suppresses
    itself: four outputs, each named for the model output it describes ("model_output", which
    `packing` puts in the file's output order), as MediaPipe's ObjectDetector reads a file with
    TFLite's detection post-processing."""
    def output(model_output, meta_name, text, properties=None, **extra):
        return {"name": meta_name, "model_output": model_output, "description": text,
                "content": {"content_properties": properties or {"FeatureProperties": {}},
                            "range": {"min": 2, "max": 2}}, **extra}

    outputs = [
        output("detection_boxes", "location", f"Up to {max_detections} boxes: y_min, x_min, y_max, x_max relative to "
                                              "the image", {"BoundingBoxProperties": {
                                                  "index": [1, 0, 3, 2], "type": "BOUNDARIES", "coordinate_type": "RATIO"}}),
        output("detection_classes", "category", "Each box's class index into labels.txt",
               associated_files=[{"name": "labels.txt", "description": "Class names, one per line, in index order",
                                  "type": "TENSOR_VALUE_LABELS"}]),
        output("detection_scores", "score", "Each box's score 0..1, highest first"),
        {"name": "number of detections", "model_output": "num_detections",
         "description": "How many of the rows hold detections", "content": {"content_properties": {"FeatureProperties": {}}}},
    ]
    image = _rgb_image((size, size), False, "values 0..255 as read (scaled inside the model)")
    metadata = _general(name, description, [image], outputs)
    metadata["subgraph_metadata"][0]["output_tensor_groups"] = [
        {"name": "detection_result", "tensor_names": ["location", "category", "score"]}]
    return metadata, _labels_file(labels)


#: MediaPipe's BERT preprocessor finds the three inputs by these metadata names.
BERT_INPUTS = {
    "token_ids": ("ids", "WordPiece ids of the text: [CLS] pieces [SEP], then 0 (padding)"),
    "padding_mask": ("mask", "1 for each real token, 0 for padding"),
    "segment_ids": ("segment_ids", "0 for every token (one text)"),
}


def bert_text_classifier(name: str, description: str, labels: list[str], vocabulary: list[str],
                         sequence_length: int) -> tuple[dict, dict]:
    """A BERT-family classifier of texts, as MediaPipe's TextClassifier reads it: three int32 inputs
    (each named for the model input it describes under "model_input", which `packing` puts in the
    file's input order), the WordPiece vocabulary as the tokenizer, class probabilities out."""
    inputs = [{"name": meta_name, "model_input": model_input,
               "description": f"{text}; {sequence_length} tokens",
               "content": {"content_properties": {"FeatureProperties": {}}}}
              for model_input, (meta_name, text) in BERT_INPUTS.items()]
    tokenizer = {"options": {"BertTokenizerOptions": {"vocab_file": [{
        "name": "vocab.txt", "type": "VOCABULARY",
        "description": "WordPiece vocabulary, one piece per line in id order; text is lowercased first"}]}}}
    metadata = _general(name, description, inputs, [_probabilities(labels)])
    metadata["subgraph_metadata"][0]["input_process_units"] = [tokenizer]
    metadata["min_parser_version"] = TOKENIZER_PARSER_VERSION
    return metadata, {**_labels_file(labels), "vocab.txt": ("\n".join(vocabulary) + "\n").encode("utf-8")}


def word_text_classifier(name: str, description: str, labels: list[str], sequence_length: int) -> tuple[dict, dict]:
    """A classifier of texts tokenized outside the model (word ids and a padding mask), with its
    labels; the tokenizer is not one a task library runs, so it is described, not packed."""
    inputs = [{"name": "token_ids", "model_input": "token_ids",
               "description": f"Word ids of the text, {sequence_length} of them, 0 padding (tokenizer.json)"},
              {"name": "padding_mask", "model_input": "padding_mask",
               "description": "1 for each real token, 0 for padding"}]
    return _general(name, description, inputs, [_probabilities(labels)]), _labels_file(labels)


def forecaster(name: str, description: str, columns: list[str], mean: list[float], std: list[float],
               lookback: int, horizon: int, targets: list[str], step: str) -> tuple[dict, dict]:
    """A forecaster taking the last `lookback` steps of every column, scaled per column, and giving
    the next `horizon` steps of the targets, to be scaled back (MediaPipe has no task for it: apps
    run it with `get_signature_runner()`, by the input and output names the metadata gives)."""
    k = len(targets)
    window = {
        "name": "window", "model_input": "window",
        "description": (f"The last {lookback} {step} steps, oldest first, of the columns {', '.join(columns)}, "
                        f"each scaled (value - mean) / std with its mean and std here"),
        "content": {"content_properties": {"FeatureProperties": {}}},
        "process_units": [{"options": {"NormalizationOptions": {"mean": list(mean), "std": list(std)}}}],
    }
    forecast = {
        "name": "forecast",
        "description": (f"The next {horizon} {step} steps of {', '.join(targets)} (the first right after the "
                        f"window's last step), scaled: value = y * std + mean, with "
                        + ", ".join(f"{t}: mean {m:g}, std {s:g}" for t, m, s in zip(targets, mean[:k], std[:k]))),
        "content": {"content_properties": {"FeatureProperties": {}}},
    }
    return _general(name, description, [window], [forecast]), {}


def image_generator(name: str, description: str, latent_dim: int, labels: list[str], colour: str,
                    size: tuple[int, int]) -> tuple[dict, dict]:
    """A generator of (height, width) images from a standard-normal latent vector (and a class id
    when `labels` are given), values -1..1 (MediaPipe has no task for it: `get_signature_runner()`)."""
    height, width = size
    inputs = [{"name": "latent", "model_input": "latent",
               "description": f"{latent_dim} values drawn independently from a standard normal distribution",
               "content": {"content_properties": {"FeatureProperties": {}}}}]
    files = {}
    if labels:
        inputs.append({"name": "class_id", "model_input": "class_id",
                       "description": f"The class to draw, 0..{len(labels) - 1} (labels.txt)",
                       "content": {"content_properties": {"FeatureProperties": {}}},
                       "associated_files": [{"name": "labels.txt", "description": "Class names, one per line, by id",
                                             "type": "TENSOR_VALUE_LABELS"}]})
        files = _labels_file(labels)
    images = {"name": "images",
              "description": f"{colour} images, {width}x{height}, values -1..1: pixel = clip(round((x + 1) * 127.5), 0, 255)",
              "content": {"content_properties": {"ImageProperties": {
                  "color_space": "GRAYSCALE" if colour == "grey" else "RGB"}}},
              "stats": {"max": [1.0], "min": [-1.0]}}
    return _general(name, description, inputs, [images]), files


def eight_bit(intensity_range) -> bool:
    """Whether images of this intensity range are 8-bit pixels (so 0..255 frames are what they are)."""
    low, high = intensity_range
    return 0 <= low and 1 < high <= 255


def _rgb_image(size: tuple[int, int], grey_inside: bool, pixels: str, mean: float = 0.0,
               std: float = 1.0) -> dict:
    """The input tensor of an image model taking (height, width) RGB frames: MediaPipe hands a float
    model (pixel - mean) / std of each 0..255 pixel, and a uint8 one the pixel itself."""
    height, width = size
    grey = "; the model turns it into grey itself (it learned from grey images)" if grey_inside else ""
    return {
        "name": "image",
        "description": f"RGB image, {width}x{height} pixels, {pixels}{grey}; other sizes are resized to it, "
                       f"stretched (no crop, no padding)",
        "content": {"content_properties": {"ImageProperties": {
            "color_space": "RGB", "default_size": {"width": width, "height": height}}}},
        "process_units": [{"options": {"NormalizationOptions": {"mean": [mean] * 3, "std": [std] * 3}}}],
        "stats": {"max": [(255.0 - mean) / std] * 3, "min": [(0.0 - mean) / std] * 3},
    }


def _general(name: str, description: str, inputs: list, outputs: list) -> dict:
    """The model-level fields around one subgraph's input and output tensor metadata."""
    from automl.versions import package_versions

    return {"name": name, "description": description, "version": f"automl {package_versions()['automl']}",
            "author": "automl",
            "subgraph_metadata": [{"input_tensor_metadata": inputs, "output_tensor_metadata": outputs}],
            "min_parser_version": MIN_PARSER_VERSION}


def _labels_file(labels: list[str]) -> dict:
    return {"labels.txt": ("\n".join(labels) + "\n").encode("utf-8")}
