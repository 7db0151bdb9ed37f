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


@keras.saving.register_keras_serializable(package="automl")
class LogLevels(keras.layers.Layer):
    """Between standardized targets and standardized logs of the targets, inside the model.

    The window comes in standardized (`(raw - mean) / std`, as every forecaster takes it); forward,
    its target columns become `(log(raw) - log_mean) / log_std` (covariates pass unchanged), so a
    season whose swing grows with the level becomes a steady one the rule and the network forecast;
    `inverse` turns the forecast back into standardized raw units. A raw value at or below zero is
    taken as `TINY` (none was in the data the model was chosen on).
    """

    TINY = 1e-6

    def __init__(self, mean, std, log_mean, log_std, inverse: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = [float(v) for v in mean], [float(v) for v in std]
        self.log_mean, self.log_std = [float(v) for v in log_mean], [float(v) for v in log_std]
        self.inverse = bool(inverse)

    def call(self, x):
        ops = keras.ops
        k = len(self.mean)
        mean, std = ops.convert_to_tensor(self.mean, x.dtype), ops.convert_to_tensor(self.std, x.dtype)
        log_mean, log_std = ops.convert_to_tensor(self.log_mean, x.dtype), ops.convert_to_tensor(self.log_std, x.dtype)
        if self.inverse:
            return (ops.exp(x * log_std + log_mean) - mean) / std
        raw = x[..., :k] * std + mean
        logs = (ops.log(ops.maximum(raw, self.TINY)) - log_mean) / log_std
        if x.shape[-1] == k:
            return logs
        return ops.concatenate([logs, x[..., k:]], axis=-1)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std, "log_mean": self.log_mean,
                "log_std": self.log_std, "inverse": self.inverse}


@keras.saving.register_keras_serializable(package="automl")
class WindowScale(keras.layers.Layer):
    """Each window's own scale: the mean absolute step-to-step change of its targets (at least
    `floor`), shaped (batch, 1, 1).

    With many series one network forecasts them all; dividing its input by this scale (and
    multiplying its correction back) lets a series of thousands and one of tens look alike to it.
    """

    def __init__(self, num_targets: int, floor: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_targets, self.floor = num_targets, floor

    def call(self, window):
        targets = window[..., : self.num_targets]
        steps = keras.ops.abs(targets[:, 1:, :] - targets[:, :-1, :])
        return keras.ops.maximum(keras.ops.mean(steps, axis=(1, 2), keepdims=True), self.floor)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1)

    def get_config(self):
        return {**super().get_config(), "num_targets": self.num_targets, "floor": self.floor}


@keras.saving.register_keras_serializable(package="automl")
class ScaleTargets(keras.layers.Layer):
    """Divides (or, `multiply`, multiplies) the first `num_targets` columns by a (batch, 1, 1) scale."""

    def __init__(self, num_targets: int, multiply: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_targets, self.multiply = num_targets, multiply

    def call(self, inputs):
        x, scale = inputs
        targets = x[..., : self.num_targets]
        targets = targets * scale if self.multiply else targets / scale
        if x.shape[-1] == self.num_targets:
            return targets
        return keras.ops.concatenate([targets, x[..., self.num_targets:]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_targets": self.num_targets, "multiply": self.multiply}
