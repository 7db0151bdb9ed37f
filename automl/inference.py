"""What of a trained model is evaluated, exported and verified (`Task.inference`).

By default the trained model as it is. A task hands over a subclass when the model apps run is
something else: the generator alone of a GAN, a classifier averaged over each image and its
mirror image, or an int8 file that keeps some ops in float.
"""

from __future__ import annotations

from typing import Optional


class Inference:
    """Args:
        task: the `Task` whose model this is.
    """

    #: TFLite op types an int8 model of this task keeps in float (beside the family's).
    int8_float_ops: tuple[str, ...] = ()
    #: Keras layers of the model (as `choose` returns it) whose ops an int8 file keeps in float.
    int8_float_layers: tuple[str, ...] = ()
    #: The name of a one-output model's output in the files' serving signature, for apps that run
    #: them through `get_signature_runner()` (None: output_0).
    output_name: str | None = None

    def __init__(self, task):
        self.task = task

    def backtest(self, data, family, hp, pretrained, trained, seconds, config) -> Optional[dict]:
        """More evidence for `choose`, gathered after fine-tuning in the `seconds` it left (None: no
        limit) from the kept trial (`family`, `hp`) trained again: a forecaster's rolling origins.
        A JSON-ready dict the run keeps (`automl export` chooses again from it), or None.

        Args:
            trained: the `FinetuneResult` of the kept trial (its epochs and seconds).
        """
        return None

    def choose(self, model, data, hp, config, evidence=None):
        """The model that is evaluated, exported and verified, and what the report's `inference`
        says of it (None: the trained model as it is); `evidence` is what `backtest` returned."""
        return model, None

    def tf_keras(self, model, inference: Optional[dict]):
        """The tf_keras twin `model` wrapped as `choose` wrapped the Keras 3 one, so that a
        compressed file runs the model as the bundle's other files do."""
        return model

    def int8_io(self, data) -> tuple[str, str]:
        """The int8 file's input and output types ("int8" or "uint8"). MediaPipe's image tasks hand
        a quantized model uint8 pixels (0..255 as they are) and read uint8 scores."""
        return "int8", "int8"

    def tflite_metadata(self, data, hp, config) -> Optional[tuple[dict, dict]]:
        """The TFLite Metadata every .tflite file carries (`automl.app_metadata`): (metadata dict,
        {file name: bytes} packed with it), or None for none."""
        return None
