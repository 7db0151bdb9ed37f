"""Keras layers the text families share."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="automl")
class MaskedMeanPooling(keras.layers.Layer):
    """Mean of a sequence over its real (unpadded) steps.

    Takes `[sequence (batch, steps, features), padding_mask (batch, steps)]`.
    """

    def call(self, inputs):
        sequence, mask = inputs
        weights = keras.ops.expand_dims(keras.ops.cast(mask, sequence.dtype), -1)
        total = keras.ops.sum(sequence * weights, axis=1)
        count = keras.ops.maximum(keras.ops.sum(weights, axis=1), 1.0)
        return total / count

    def compute_output_shape(self, input_shape):
        sequence_shape = input_shape[0]
        return (sequence_shape[0], sequence_shape[-1])


@keras.saving.register_keras_serializable(package="automl")
class MaskedMaxPooling(keras.layers.Layer):
    """Max over steps of a sequence whose padded steps are zeroed first.

    No division, so it quantizes to int8 cleanly (a masked mean's dynamic
    divisor does not). Takes `[sequence, padding_mask]`.
    """

    def call(self, inputs):
        sequence, mask = inputs
        weights = keras.ops.expand_dims(keras.ops.cast(mask, sequence.dtype), -1)
        return keras.ops.max(sequence * weights, axis=1)

    def compute_output_shape(self, input_shape):
        sequence_shape = input_shape[0]
        return (sequence_shape[0], sequence_shape[-1])


def masked_max_tf(sequence, mask):
    """MaskedMaxPooling in plain TensorFlow, for tf_keras twins."""
    import tensorflow as tf

    return tf.reduce_max(sequence * tf.expand_dims(tf.cast(mask, sequence.dtype), -1), axis=1)
