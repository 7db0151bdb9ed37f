"""Image models take colour (RGB) input, even when trained on grey images.

Apps hand a model camera frames, and MediaPipe Tasks refuses an image model whose input has one
channel. So a model of a grey data set takes 3 channels and turns them into grey as its first
layer: their mean. A grey image given as RGB (three equal channels) reaches the rest of the model
unchanged, in the int8 file too (the three weights are one value, which int8 holds exactly; the
luma weights 0.299/0.587/0.114 round apart there and brighten grey pixels by 0.3%, which flipped
answers of a barely trained model), and a colour frame becomes a grey image.
"""

from __future__ import annotations

import numpy as np

#: Channels every image model takes.
COLOUR = 3
#: Weights of R, G and B in a grey pixel (they sum to 1: grey in, the same grey out).
GREY_WEIGHTS = (1 / 3, 1 / 3, 1 / 3)
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
    layer.set_weights([np.asarray(GREY_WEIGHTS, np.float32).reshape(1, 1, COLOUR, 1)])
    return grey


def as_colour(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 1) grey pixels as (N, H, W, 3), each channel the grey; colour ones as they are."""
    return images if images.shape[-1] == COLOUR else np.repeat(images, COLOUR, axis=-1)


def tf_as_colour(images):
    """`as_colour` for a batch in a `tf.data` pipeline."""
    import tensorflow as tf

    return images if images.shape[-1] == COLOUR else tf.repeat(images, COLOUR, axis=-1)
