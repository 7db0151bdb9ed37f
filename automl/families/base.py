"""What a model family provides: a backbone, its search space, its metadata.

The head, loss and metrics come from the task, so one family can serve
several tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class FamilyInfo:
    """Facts the selector and the contract test read about a family."""

    name: str
    tasks: tuple[str, ...]
    description: str
    #: Smallest input side the backbone accepts (smaller inputs are upsampled).
    min_input_size: int = 8
    #: The family can start from pretrained weights.
    supports_pretrained: bool = False
    #: Without pretrained weights the family is rarely worth its cost.
    needs_pretrained: bool = False
    #: Converts to TFLite with builtin ops only.
    builtin_tflite: bool = True
    #: Rough float32 size of its smallest configuration, in MB.
    approx_min_mb: float = 1.0
    #: Search trials train on at most this many examples when
    #: `search.max_train_examples` is auto (None: the search default).
    search_examples: Optional[int] = None
    #: A trial takes seconds: when the selector chooses families itself, this one is
    #: always searched, and first, so a budget spent elsewhere still leaves a model.
    fast: bool = False


class Family:
    """Base class; subclasses are listed by name in `automl.families`."""

    info: FamilyInfo
    #: Name of the pretrained sub-model that fine-tuning first freezes.
    backbone_layer = "backbone"
    #: TFLite op types the int8 model keeps in float: ops whose per-tensor int8
    #: ranges cannot hold their values (layer norms, attention logits). Weights
    #: and matrix products stay int8.
    int8_float_ops: tuple[str, ...] = ()
    #: What the bundle says of a family's `tflite_twin` conversion (families with one set it).
    twin_note: str = ""

    def tflite_twin(self, model, hp, task, data):
        """A model with the trained weights to convert in place of `model` when the trained
        one does not convert well (a fused LSTM); None converts `model` itself."""
        return None

    def unsupported_quantizations(self, hp) -> dict:
        """TFLite quantizations this configuration cannot export, with the reason."""
        return {}

    def input_space(self, hp, data) -> None:
        """Declares hyperparameters that shape the model's inputs (sequence length...)."""

    def build(self, hp, inputs, *, pretrained):
        """Returns backbone features for the task's `inputs`.

        `pretrained` is falsy (random initialization) or the weights source the
        selector found: True for a family's standard weights, or a preset name.
        """
        raise NotImplementedError

    def known_good(self, profile: dict) -> list[dict]:
        """Hyperparameter values worth trying first, for data like `profile`."""
        return []

    def pretrained_weights_status(self) -> tuple[object, str]:
        """(weights source or a falsy value, message): whether pretrained weights can be had."""
        return False, f"{self.info.name} has no pretrained weights"


def resolution_choices(native: int, min_size: int, max_size: int = 224) -> list[int]:
    """Input sides worth searching: the native side and, for small images, 2x."""
    base = min(max(native, min_size), max_size)
    choices = {base}
    if native <= 64:
        choices.add(min(max(2 * native, min_size), max_size))
    return sorted(choices)


def to_resolution(inputs, side: int, channels: int):
    """Resizes to side x side and repeats a grey channel to RGB when asked."""
    import keras

    x = inputs
    if tuple(inputs.shape[1:3]) != (side, side):
        x = keras.layers.Resizing(side, side, name="resize")(x)
    if channels == 3 and inputs.shape[-1] == 1:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    return x


def settle_batch_norm(backbone, momentum: float = 0.9) -> None:
    """Faster-moving batch-norm statistics for backbones trained from scratch.

    keras.applications uses momentum 0.99-0.999, made for ImageNet-length runs;
    after a few hundred steps its moving statistics are still near their start
    and the model's inference outputs are garbage (or overflow to NaN).
    """
    import keras

    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def keras_applications_weights(build_fn, name: str) -> tuple[bool, str]:
    """Tries to load ImageNet weights (cached under ~/.keras/models after the first time).

    Keras's "Downloading data from ..." line is kept off the terminal: the outcome is
    one line in the selector's reasons.
    """
    import keras

    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        build_fn()
        return True, f"ImageNet weights for {name} loaded"
    except Exception as err:  # noqa: BLE001 - a download fails in many ways
        return False, f"ImageNet weights for {name} cannot be had ({download_failure(err)}); training from scratch instead"
    finally:
        if interactive:
            keras.config.enable_interactive_logging()


def download_failure(err: Exception) -> str:
    """Why a download failed, in a few words for a report: the cause without the address and the
    library's wrapping ("no network: name resolution failed", "HTTP Error 403: Forbidden")."""
    import re

    text = " ".join(str(err).split())
    text = re.sub(r"URL fetch failure on \S+\s*:?\s*(None)?\s*(--)?\s*", "", text)
    text = re.sub(r"https?://\S+", "", text).strip(" :-")
    if "name resolution" in text or "Name or service not known" in text or "Network is unreachable" in text:
        return "no network: " + re.sub(r"\[Errno -?\d+\]\s*", "", text).strip().lower()
    return (text or type(err).__name__)[:120]
