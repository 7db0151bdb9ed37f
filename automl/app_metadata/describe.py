"""The TFLite Metadata of each kind of model apps run through a task library (MediaPipe Tasks,
LiteRT Support): what the model takes and gives, and the files it needs, as dicts for
`packing.with_metadata`. Each returns (metadata, {file name: bytes})."""

from __future__ import annotations

#: The oldest metadata parser that reads what these write (labels, normalization, image sizes).
MIN_PARSER_VERSION = "1.0.0"


def image_classifier(name: str, description: str, size: tuple[int, int], labels: list[str],
                     grey_inside: bool = False) -> tuple[dict, dict]:
    """A classifier of (height, width) RGB images given as pixel values 0..255 (the model scales them
    itself, so the normalization is the identity), returning class probabilities. `grey_inside`:
    the model was trained on grey images and turns its RGB input into grey itself."""
    probabilities = {
        "name": "probability",
        "description": f"Probability of each of the {len(labels)} classes (softmax: they sum to 1)",
        "content": {"content_properties": {"FeatureProperties": {}}},
        "stats": {"max": [1.0], "min": [0.0]},
        "associated_files": [{"name": "labels.txt", "description": "Class names, one per line, in output order",
                              "type": "TENSOR_AXIS_LABELS"}],
    }
    image = _rgb_image(size, grey_inside, "values 0..255 (scaled inside the model)")
    return _general(name, description, [image], [probabilities]), _labels_file(labels)


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
    from automl.export import package_versions

    return {"name": name, "description": description, "version": f"automl {package_versions()['automl']}",
            "author": "automl",
            "subgraph_metadata": [{"input_tensor_metadata": inputs, "output_tensor_metadata": outputs}],
            "min_parser_version": MIN_PARSER_VERSION}


def _labels_file(labels: list[str]) -> dict:
    return {"labels.txt": ("\n".join(labels) + "\n").encode("utf-8")}
