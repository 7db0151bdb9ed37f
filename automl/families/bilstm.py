"""Embedding + bidirectional LSTM/GRU layers + masked max pooling, for text.

Keras 3 LSTMs convert to a TFLite WHILE loop (or need Flex ops), so the
export rebuilds the same layers in tf_keras, copies the weights (they match
exactly) and converts that: LSTMs become TFLite's fused
UNIDIRECTIONAL_SEQUENCE_LSTM op.
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo


def _layers(K, values: dict, inputs: dict, pool):
    """The backbone, written once for Keras 3 (`K=keras`) and tf_keras."""
    x = K.layers.Embedding(values["vocabulary_size"], values["embedding_dim"], name="embedding")(inputs["token_ids"])
    if values["dropout"]:
        x = K.layers.SpatialDropout1D(values["dropout"], name="embedding_dropout")(x)
    cell = K.layers.LSTM if values["cell"] == "lstm" else K.layers.GRU
    for i in range(values["layers"]):
        x = K.layers.Bidirectional(cell(values["units"], return_sequences=True, name=f"rnn{i}"), name=f"bi_rnn{i}")(x)
    return pool(x, inputs["padding_mask"])


#: Words read at most per text.
MAX_WORDS = 256


class BiLSTM(Family):
    info = FamilyInfo(
        name="bilstm",
        tasks=("text_classification",),
        description="Word embedding + bidirectional LSTM or GRU layers; fast to train, small on phones.",
        approx_min_mb=1.0,
    )
    twin_note = ("converted from a tf_keras twin of the model: batch size 1, fused LSTM ops whose "
                 "state lives in variable tensors; reset them (resetVariableTensors) before each example")

    def tokenizer(self, data, profile: dict, pretrained=None):
        from automl.tasks.text_classification.tokenizers import WordTokenizer

        length = min(max(16, int(profile["words_per_text"]["p95"] * 1.2)), MAX_WORDS)
        return WordTokenizer.fit(data.train.texts, vocabulary_size=20_000, sequence_length=length)

    def input_space(self, hp, data) -> None:
        full = data.tokenizer.sequence_length
        lengths = sorted({max(8, full // 2), full})
        hp.Choice("sequence_length", lengths, default=full)
        sizes = sorted({min(s, len(data.tokenizer.vocabulary)) for s in (5_000, 10_000, 20_000)})
        hp.Choice("vocabulary_size", sizes, default=sizes[-1])

    def values(self, hp) -> dict:
        return {
            "vocabulary_size": hp.get("vocabulary_size"),
            "embedding_dim": hp.Choice("embedding_dim", [64, 128], default=128),
            # GRU is there when pinned (`search.hyperparameters: {cell: gru}`), not
            # searched: it has no fused TFLite op, and its int8 conversion crashes.
            "cell": hp.Fixed("cell", "lstm"),
            "layers": hp.Int("layers", 1, 2, default=1),
            "units": hp.Choice("units", [32, 64, 128], default=64),
            "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.3),
        }

    def build(self, hp, inputs, *, pretrained: bool):
        from automl.tasks.text_classification.layers import MaskedMaxPooling

        pool = lambda x, mask: MaskedMaxPooling(name="pool")([x, mask])  # noqa: E731
        return _layers(__import__("keras"), self.values(hp), inputs, pool)

    def tflite_twin(self, model, hp, task, data):
        """A tf_keras copy of `model` (same layers and weights) with batch size 1."""
        import tf_keras

        from automl.tasks.text_classification.layers import masked_max_tf

        length = hp.get("sequence_length")
        inputs = {name: tf_keras.Input((length,), batch_size=1, dtype="int32", name=name)
                  for name in ("token_ids", "padding_mask")}
        pool = lambda x, mask: tf_keras.layers.Lambda(lambda t: masked_max_tf(*t), name="pool")([x, mask])  # noqa: E731
        features = _layers(tf_keras, self.values(hp), inputs, pool)
        outputs = task.build_head(hp, features, data, layers=tf_keras.layers)
        twin = tf_keras.Model(inputs, outputs)
        twin.set_weights(model.get_weights())
        return twin

    def unsupported_quantizations(self, hp) -> dict:
        if hp.values.get("cell") == "gru":
            return {"int8": "int8 conversion of GRU layers crashes the TFLite converter (TF 2.21); "
                            "use cell: lstm, or drop int8 from export.quantizations"}
        return {}

    def known_good(self, profile: dict) -> list[dict]:
        return [{"embedding_dim": 128, "cell": "lstm", "layers": 1, "units": 64, "dropout": 0.3,
                 "learning_rate": 2e-3, "optimizer": "adam", "batch_size": 64, "head_dropout": 0.3}]
