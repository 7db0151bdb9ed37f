"""Transformer forecaster: an encoder over patches of the lookback window.

Consecutive steps are grouped into patches (tokens), projected to the model
width, given a learned position embedding and run through pre-norm encoder
blocks. Few tokens keep attention cheap over long lookbacks.
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo


class TransformerForecaster(Family):
    info = FamilyInfo(
        name="transformer",
        tasks=("time_series_forecasting",),
        description="Patch-based Transformer encoder with learned positions; strong over long lookbacks.",
        approx_min_mb=0.2,
    )
    #: Layer norms and residual sums overflow per-tensor int8 ranges (as in BERT).
    int8_float_ops = ("MEAN", "SQUARED_DIFFERENCE", "RSQRT", "BATCH_MATMUL", "ADD", "MUL", "SUB", "SOFTMAX")

    def build(self, hp, inputs, *, pretrained=False):
        import keras

        from automl.tasks.time_series_forecasting.layers import PositionEmbedding

        lookback, columns = inputs.shape[1], inputs.shape[2]
        patch = min(hp.Choice("patch_length", [4, 8, 16], default=8), lookback)
        width = hp.Choice("model_width", [32, 64, 128], default=64)
        heads = hp.Choice("num_heads", [2, 4], default=4)
        blocks = hp.Int("num_layers", 1, 3, default=2)
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
        tokens = lookback // patch
        x = inputs
        if tokens * patch < lookback:  # the oldest steps that do not fill a patch are left out
            x = keras.layers.Cropping1D((lookback - tokens * patch, 0), name="crop")(x)
        x = keras.layers.Reshape((tokens, patch * columns), name="patches")(x)
        x = keras.layers.Dense(width, name="patch_embedding")(x)
        x = PositionEmbedding(name="positions")(x)
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
        for i in range(blocks):
            h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_attention_norm")(x)
            h = keras.layers.MultiHeadAttention(heads, width // heads, dropout=dropout, name=f"block{i}_attention")(h, h)
            x = keras.layers.Add(name=f"block{i}_attention_residual")([x, keras.layers.Dropout(dropout)(h)])
            h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_ffn_norm")(x)
            h = keras.layers.Dense(2 * width, activation="gelu", name=f"block{i}_ffn_in")(h)
            h = keras.layers.Dense(width, name=f"block{i}_ffn_out")(h)
            x = keras.layers.Add(name=f"block{i}_ffn_residual")([x, keras.layers.Dropout(dropout)(h)])
        return keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)

    def known_good(self, profile: dict) -> list[dict]:
        return [{"patch_length": 8, "model_width": 64, "num_heads": 4, "num_layers": 2, "dropout": 0.1,
                 "head_dropout": 0.1, "learning_rate": 1e-3, "optimizer": "adam", "batch_size": 32}]
