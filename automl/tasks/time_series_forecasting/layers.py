"""Keras layers of the forecasting models (registered, so .keras files reload)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="automl")
class SubtractLastValue(keras.layers.Layer):
    """Subtracts each target column's last lookback value from that column.

    The backbone then sees changes, not levels, so a trend that leaves the
    training range (CO2 rising) does not push it outside what it learned.
    Targets are the first `num_targets` columns; covariates pass unchanged.
    """

    def __init__(self, num_targets: int, **kwargs):
        super().__init__(**kwargs)
        self.num_targets = num_targets

    def call(self, window):
        targets = window[..., : self.num_targets]
        centered = targets - targets[:, -1:, :]
        if window.shape[-1] == self.num_targets:
            return centered
        return keras.ops.concatenate([centered, window[..., self.num_targets:]], axis=-1)

    def get_config(self):
        return {**super().get_config(), "num_targets": self.num_targets}


@keras.saving.register_keras_serializable(package="automl")
class AddLastValue(keras.layers.Layer):
    """Adds the last lookback value of each target back to the forecast changes.

    Takes `[changes (batch, horizon, targets), window (batch, lookback, columns)]`.
    """

    def call(self, inputs):
        changes, window = inputs
        return changes + window[:, -1:, : changes.shape[-1]]

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="automl")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position to a (batch, positions, width) sequence."""

    def build(self, input_shape):
        self.positions = self.add_weight(shape=tuple(input_shape[1:]), initializer=keras.initializers.RandomNormal(stddev=0.02),
                                         name="positions")

    def call(self, sequence):
        return sequence + keras.ops.cast(self.positions, sequence.dtype)[None]
