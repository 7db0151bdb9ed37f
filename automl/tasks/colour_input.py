"""Image models take colour (RGB) input, even when trained on grey images.

Apps hand a model camera frames, and MediaPipe Tasks refuses an image model whose input has one
channel. So a model of a grey data set takes 3 channels and turns them into grey as its first
layer, with the luma weights Pillow's `convert("L")` uses (ITU-R 601-2): a grey image given as
RGB (three equal channels) reaches the rest of the model unchanged, and a colour frame becomes
the grey image a user's own conversion would have made.
"""

from __future__ import annotations

import numpy as np

#: Channels every image model takes.
COLOUR = 3
#: Weights of R, G and B in a grey pixel (they sum to 1: grey in, the same grey out).
LUMA = (0.299, 0.587, 0.114)
#: Name of the layer that makes grey from colour (compression leaves it as it is).
LAYER_NAME = "grey_from_colour"


def model_shape(image_shape) -> tuple[int, int, int]:
    """The model's input (height, width, 3) for images of `image_shape` (height, width, 1 or 3)."""
    height, width, _ = image_shape
    return int(height), int(width), COLOUR


def grey_from_colour(inputs, image_shape):
    """The tensor the rest of the model reads: `inputs` (RGB) as grey when the data set is grey."""
    import keras

    if image_shape[-1] == COLOUR:
        return inputs
    layer = keras.layers.Conv2D(1, 1, use_bias=False, trainable=False, dtype="float32", name=LAYER_NAME)
    grey = layer(inputs)
    layer.set_weights([np.asarray(LUMA, np.float32).reshape(1, 1, COLOUR, 1)])
    return grey


def as_colour(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 1) grey pixels as (N, H, W, 3), each channel the grey; colour ones as they are."""
    return images if images.shape[-1] == COLOUR else np.repeat(images, COLOUR, axis=-1)


def tf_as_colour(images):
    """`as_colour` for a batch in a `tf.data` pipeline."""
    import tensorflow as tf

    return images if images.shape[-1] == COLOUR else tf.repeat(images, COLOUR, axis=-1)
