"""The TFLite Metadata of each kind of model apps run through a task library (MediaPipe Tasks,
LiteRT Support): what the model takes and gives, and the files it needs, as dicts for
`packing.with_metadata`. Each returns (metadata, {file name: bytes})."""

from __future__ import annotations

#: The oldest metadata parser that reads what these write (labels, normalization, image sizes).
MIN_PARSER_VERSION = "1.0.0"


def image_classifier(name: str, description: str, size: tuple[int, int], channels: int,
                     labels: list[str]) -> tuple[dict, dict]:
    """A classifier of (height, width, channels) images given as pixel values 0..255 (the model
    scales them itself, so the normalization is the identity), returning class probabilities."""
    height, width = size
    colour = "RGB" if channels == 3 else "GRAYSCALE"
    image = {
        "name": "image",
        "description": f"{colour} image, {width}x{height} pixels, values 0..255 (scaled inside the model); "
                       f"other sizes are resized to it",
        "content": {"content_properties": {"ImageProperties": {
            "color_space": colour, "default_size": {"width": width, "height": height}}}},
        "process_units": [{"options": {"NormalizationOptions": {"mean": [0.0] * channels, "std": [1.0] * channels}}}],
        "stats": {"max": [255.0] * channels, "min": [0.0] * channels},
    }
    probabilities = {
        "name": "probability",
        "description": f"Probability of each of the {len(labels)} classes (softmax: they sum to 1)",
        "content": {"content_properties": {"FeatureProperties": {}}},
        "stats": {"max": [1.0], "min": [0.0]},
        "associated_files": [{"name": "labels.txt", "description": "Class names, one per line, in output order",
                              "type": "TENSOR_AXIS_LABELS"}],
    }
    from automl.export import package_versions

    metadata = {
        "name": name, "description": description, "version": f"automl {package_versions()['automl']}",
        "author": "automl",
        "subgraph_metadata": [{"input_tensor_metadata": [image], "output_tensor_metadata": [probabilities]}],
        "min_parser_version": MIN_PARSER_VERSION,
    }
    return metadata, {"labels.txt": ("\n".join(labels) + "\n").encode("utf-8")}
