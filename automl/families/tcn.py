"""Temporal convolutional network: residual blocks of dilated causal convolutions.

Dilations double per block until the receptive field covers the lookback.
Convolutions are cheap on CPUs and phones and convert to builtin TFLite ops.
"""

from __future__ import annotations

import math

from automl.families.base import Family, FamilyInfo


class TCN(Family):
    info = FamilyInfo(
        name="tcn",
        tasks=("time_series_forecasting",),
        description="Dilated causal 1-D convolutions with residual connections; fast on CPU and phones.",
        approx_min_mb=0.1,
    )

    def build(self, hp, inputs, *, pretrained=False):
        import keras

        lookback = inputs.shape[1]
        filters = hp.Choice("filters", [16, 32, 64], default=32)
        kernel = hp.Choice("kernel_size", [2, 3, 5], default=3)
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
        blocks = max(1, math.ceil(math.log2((lookback - 1) / (kernel - 1) + 1)))
        x = keras.layers.Conv1D(filters, 1, name="input_projection")(inputs)
        for i in range(blocks):
            h = keras.layers.Conv1D(filters, kernel, padding="causal", dilation_rate=2 ** i, activation="relu",
                                    name=f"block{i}_conv")(x)
            h = keras.layers.Dropout(dropout, name=f"block{i}_dropout")(h)
            x = keras.layers.Add(name=f"block{i}_residual")([x, h])
        # The head flattens every step; a 1x1 convolution keeps that small.
        return keras.layers.Conv1D(max(4, filters // 4), 1, activation="relu", name="bottleneck")(x)

    def known_good(self, profile: dict) -> list[dict]:
        return [{"filters": 32, "kernel_size": 3, "dropout": 0.1, "head_dropout": 0.1,
                 "learning_rate": 1e-3, "optimizer": "adam", "batch_size": 32}]
