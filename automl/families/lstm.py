"""LSTM forecaster: stacked LSTM layers over the lookback; the last state feeds the head.

Keras 3 LSTMs convert to TFLite only with TensorFlow ops (tensor lists),
so the export converts an unrolled copy of the same layers and weights,
which uses builtin ops (fully connected, logistic, tanh) only.
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo


class LSTMForecaster(Family):
    info = FamilyInfo(
        name="lstm",
        tasks=("time_series_forecasting",),
        description="Stacked LSTM layers; a classic forecaster for short and medium lookbacks.",
        approx_min_mb=0.1,
    )
    twin_note = "converted from an unrolled copy of the LSTM layers (same weights): builtin ops only"

    def __init__(self, unroll: bool = False):
        self.unroll = unroll

    def build(self, hp, inputs, *, pretrained=False):
        import keras

        units = hp.Choice("units", [32, 64, 128], default=64)
        layers = hp.Int("layers", 1, 2, default=1)
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
        x = inputs
        for i in range(layers):
            last = i == layers - 1
            x = keras.layers.LSTM(units, return_sequences=not last, unroll=self.unroll, name=f"lstm{i}")(x)
            x = keras.layers.Dropout(dropout, name=f"lstm{i}_dropout")(x)
        return x

    def tflite_twin(self, model, hp, task, data):
        """The same model with unrolled LSTMs, sharing `model`'s weights."""
        from automl.hypermodel import TaskHyperModel

        twin = TaskHyperModel(LSTMForecaster(unroll=True), task, data).build(hp)
        twin.set_weights(model.get_weights())
        return twin

    def known_good(self, profile: dict) -> list[dict]:
        return [{"units": 64, "layers": 1, "dropout": 0.1, "head_dropout": 0.1,
                 "learning_rate": 2e-3, "optimizer": "adam", "batch_size": 32}]
