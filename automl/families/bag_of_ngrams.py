"""Averaged word and word-pair embeddings: the fast text family that reads whole documents.

As MediaPipe Model Maker's average-word-embedding classifier, with bigrams:
the tokenizer (outside the graph, like the other text families) turns a text
into the ids of its words and of the word pairs seen in training; the model
averages their embeddings over the real tokens and classifies. Thousands of
tokens cost one gather and one mean, so long documents are read whole, and
it trains in seconds. Builtin TFLite ops only (GATHER, MUL, SUM, DIV,
FULLY_CONNECTED).
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo

#: Longest token sequence (words + bigrams) the family reads.
MAX_TOKENS = 4096


def sequence_length(profile: dict) -> int:
    """Tokens per text: words and bigrams of the 95th-percentile training text, with room."""
    return min(MAX_TOKENS, max(32, int(profile["words_per_text"]["p95"] * 2.2)))


class BagOfNgrams(Family):
    info = FamilyInfo(
        name="bag_of_ngrams",
        tasks=("text_classification",),
        description="Mean of word and word-pair embeddings + a small classifier; trains in seconds, "
                    "reads whole long documents, tiny on phones.",
        approx_min_mb=0.5,
        fast=True,
    )

    def tokenizer(self, data, profile: dict, pretrained=None):
        from automl.tasks.text_classification.tokenizers import NgramTokenizer

        return NgramTokenizer.fit(data.train.texts, vocabulary_size=30_000, sequence_length=sequence_length(profile))

    def input_space(self, hp, data) -> None:
        hp.Fixed("sequence_length", data.tokenizer.sequence_length)
        hp.Fixed("vocabulary_size", len(data.tokenizer.vocabulary))

    def build(self, hp, inputs, *, pretrained: bool):
        import keras

        from automl.tasks.text_classification.layers import MaskedMeanPooling

        dim = hp.Choice("embedding_dim", [16, 32, 64], default=32)
        hidden = hp.Choice("hidden_units", [0, 64], default=0)
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.2)
        x = keras.layers.Embedding(hp.get("vocabulary_size"), dim, name="embedding")(inputs["token_ids"])
        x = MaskedMeanPooling(name="pool")([x, inputs["padding_mask"]])
        if hidden:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
            x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x)
        return x

    def known_good(self, profile: dict) -> list[dict]:
        return [{"embedding_dim": 64, "hidden_units": 0, "dropout": 0.2, "learning_rate": 5e-3,
                 "optimizer": "adam", "batch_size": 32, "head_dropout": 0.2}]
