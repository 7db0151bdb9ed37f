"""What apps run of a segmenter: the model as trained, with the metadata and input types
MediaPipe's ImageSegmenter reads."""

from __future__ import annotations

from automl.app_metadata.describe import eight_bit, image_segmenter
from automl.inference import Inference


class SegmenterFiles(Inference):
    """The trained model; its int8 file takes uint8 pixels as they are when the data is 8-bit."""

    output_name = "masks"

    def int8_io(self, data):
        # Other data (16-bit, floats) has no uint8 scale that reads 0..255 frames as its intensities.
        return ("uint8", "uint8") if eight_bit(data.intensity_range) else ("int8", "int8")

    def tflite_metadata(self, data, hp, config):
        return image_segmenter(config.run_name(), f"Image segmenter trained by automl on {config.data.path}",
                               (data.tile, data.tile), list(data.class_names),
                               grey_inside=data.image_shape[-1] == 1, intensity_range=data.intensity_range)
