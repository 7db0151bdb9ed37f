"""Pure-Python tokenizers (no TensorFlow) used both for training and on device.

The same code turns text into ids when the model trains and when
`automl predict` runs the .tflite, so the ids cannot drift; the BERT
WordPiece tokenizer is also tested against keras-hub's.
Settings and vocabulary round-trip through `tokenizer.json` in the bundle.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

PAD, UNK = "[PAD]", "[UNK]"


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # ASCII symbols count as punctuation, as in BERT's original tokenizer.
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B820 <= code <= 0x2CEAF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def basic_split(text: str, lowercase: bool = True) -> list[str]:
    """BERT's basic tokenization: clean, lowercase, strip accents, split on spaces and punctuation."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or (unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r"):
            continue
        if char.isspace() or unicodedata.category(char) == "Zs":
            cleaned.append(" ")
        elif _is_cjk(code):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    words = []
    for word in "".join(cleaned).split():
        if lowercase:
            word = word.lower()
            word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    words.append(current)
                words.append(char)
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


class WordPieceTokenizer:
    """BERT tokenization: [CLS] word pieces [SEP], padded with [PAD] (id 0 in BERT vocabularies).

    Args:
        vocabulary: tokens in id order.
        sequence_length: ids per example, special tokens included.
        lowercase: lowercase and strip accents first (uncased models).
    """

    kind = "wordpiece"
    #: BERT models take which segment (sentence) each token is in as well: all 0 for one text, as
    #: MediaPipe's TextClassifier feeds it.
    input_names = ("token_ids", "padding_mask", "segment_ids")

    def __init__(self, vocabulary: Sequence[str], sequence_length: int, lowercase: bool = True,
                 max_chars_per_word: int = 100):
        self.vocabulary = list(vocabulary)
        self.index = {token: i for i, token in enumerate(self.vocabulary)}
        for token in ("[CLS]", "[SEP]", PAD, UNK):
            if token not in self.index:
                raise ValueError(f"WordPiece vocabulary lacks the special token {token}")
        self.sequence_length = int(sequence_length)
        self.lowercase = lowercase
        self.max_chars_per_word = max_chars_per_word

    def pieces(self, word: str) -> list[str]:
        if len(word) > self.max_chars_per_word:
            return [UNK]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.index:
                    break
                end -= 1
            else:
                return [UNK]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        return [p for word in basic_split(text, self.lowercase) for p in self.pieces(word)]

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        """(token ids, padding mask), both `sequence_length` long."""
        body = [self.index[t] for t in self.tokenize(text)][: self.sequence_length - 2]
        ids = [self.index["[CLS]"], *body, self.index["[SEP]"]]
        mask = [1] * len(ids)
        pad = self.sequence_length - len(ids)
        return ids + [self.index[PAD]] * pad, mask + [0] * pad

    def to_config(self) -> dict:
        return {"kind": self.kind, "sequence_length": self.sequence_length, "lowercase": self.lowercase,
                "max_chars_per_word": self.max_chars_per_word, "vocabulary": self.vocabulary}


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[^\sa-z0-9]", re.UNICODE)


class WordTokenizer:
    """Lowercased words and punctuation; id 0 pads, id 1 is out-of-vocabulary.

    Ids beyond the vocabulary size are the rarest words, so a smaller vocabulary
    is the same tokenizer with high ids mapped to 1.
    """

    kind = "word"
    input_names = ("token_ids", "padding_mask")

    def __init__(self, vocabulary: Sequence[str], sequence_length: int):
        self.vocabulary = list(vocabulary)
        if self.vocabulary[:2] != [PAD, UNK]:
            raise ValueError("a word vocabulary starts with [PAD], [UNK]")
        self.index = {token: i for i, token in enumerate(self.vocabulary)}
        self.sequence_length = int(sequence_length)

    @classmethod
    def fit(cls, texts: Iterable[str], vocabulary_size: int, sequence_length: int) -> "WordTokenizer":
        counts = Counter(w for text in texts for w in cls.words(text))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls([PAD, UNK] + [w for w, _ in ranked[: vocabulary_size - 2]], sequence_length)

    @staticmethod
    def words(text: str) -> list[str]:
        return _WORD.findall(unicodedata.normalize("NFKC", text).lower())

    def tokenize(self, text: str) -> list[str]:
        return self.words(text)

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        ids = [self.index.get(token, 1) for token in self.tokenize(text)][: self.sequence_length]
        mask = [1] * len(ids)
        pad = self.sequence_length - len(ids)
        return ids + [0] * pad, mask + [0] * pad

    def to_config(self) -> dict:
        return {"kind": self.kind, "sequence_length": self.sequence_length, "vocabulary": self.vocabulary}


class NgramTokenizer(WordTokenizer):
    """Words and the word pairs (bigrams) seen in training, as one bag of ids.

    The ids of a text are its words' ids (unknown words: 1) followed by the ids of
    its known bigrams (unknown ones are left out: they carry nothing), cut to
    `sequence_length`. Vocabulary entries that hold a space are bigrams.
    """

    kind = "ngram"

    @classmethod
    def fit(cls, texts: Iterable[str], vocabulary_size: int, sequence_length: int,
            bigram_share: float = 0.5) -> "NgramTokenizer":
        """Keeps the most frequent words and bigrams (bigrams seen at least twice), half each by default."""
        texts = list(texts)
        words = Counter()
        bigrams = Counter()
        for text in texts:
            tokens = cls.words(text)
            words.update(tokens)
            bigrams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
        ranked_bigrams = [b for b, n in sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2]
        room = vocabulary_size - 2
        kept_bigrams = ranked_bigrams[: int(room * bigram_share)]
        ranked_words = [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))]
        kept_words = ranked_words[: room - len(kept_bigrams)]
        return cls([PAD, UNK] + kept_words + kept_bigrams, sequence_length)

    def tokenize(self, text: str) -> list[str]:
        words = self.words(text)
        return words + [pair for pair in (f"{a} {b}" for a, b in zip(words, words[1:])) if pair in self.index]


def encode_batch(tokenizer, texts: Sequence[str]):
    """Token ids and padding masks for many texts, as int32 arrays."""
    import numpy as np

    pairs = [tokenizer.encode(t) for t in texts]
    ids = np.array([p[0] for p in pairs], dtype=np.int32).reshape(len(texts), tokenizer.sequence_length)
    mask = np.array([p[1] for p in pairs], dtype=np.int32).reshape(len(texts), tokenizer.sequence_length)
    return ids, mask


def encode_inputs(tokenizer, texts: Sequence[str]) -> dict:
    """The model's inputs for raw texts by name (`tokenizer.input_names`)."""
    return named_inputs(*encode_batch(tokenizer, texts), tokenizer.input_names)


def named_inputs(ids, mask, names: Sequence[str]) -> dict:
    """Token ids and padding masks as the model's inputs `names` (segment ids: all 0, one text each)."""
    import numpy as np

    inputs = {"token_ids": ids, "padding_mask": mask}
    if "segment_ids" in names:
        inputs["segment_ids"] = np.zeros_like(ids)
    return inputs


def save_tokenizer(tokenizer, path: Path) -> None:
    path.write_text(json.dumps(tokenizer.to_config(), ensure_ascii=False), encoding="utf-8")


def load_tokenizer(path: Path):
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    kind = config.pop("kind")
    if kind == "wordpiece":
        return WordPieceTokenizer(**config)
    if kind == "word":
        return WordTokenizer(**config)
    if kind == "ngram":
        return NgramTokenizer(**config)
    raise ValueError(f"{path}: unknown tokenizer kind. Received: kind={kind!r}")
