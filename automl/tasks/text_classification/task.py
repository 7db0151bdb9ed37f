"""Text classification: tokenized inputs, softmax head, accuracy and macro-F1.

The family supplies the tokenizer (word vocabulary or WordPiece); the task
encodes the texts once per family and crops or re-maps them per trial.
The exported model takes `token_ids` and `padding_mask` (and `segment_ids`, all 0, for BERT
models: MediaPipe's TextClassifier feeds the three); the tokenizer travels beside it as
`tokenizer.json` and, for BERT, inside the .tflite as its WordPiece vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from automl.bundle_reader import LabelReader
from automl.data.examples import Examples
from automl.data.split import stratified_sample
from automl.tasks.text_classification.data import TextData, load_text_data
from automl.tasks.classification import ClassificationTask
from automl.tasks.text_classification.tokenizers import encode_batch, named_inputs
from automl.tasks.classification import ClassificationView
from automl.tasks.base import handed_over

@dataclass
class EncodedText:
    """Text data seen through one family's tokenizer (full sequence length)."""

    data: TextData
    tokenizer: object
    arrays: dict = field(default_factory=dict)

    @property
    def class_names(self):
        return self.data.class_names

    def part(self, name):
        return self.data.part(name)

    def encoded(self, name: str):
        if name not in self.arrays:
            self.arrays[name] = encode_batch(self.tokenizer, self.data.part(name).texts)
        return self.arrays[name]


class TokenizedExamples(Examples):
    """Labelled texts; a family sees them encoded by its tokenizer (made once per family and
    pretrained weights, and kept with the data)."""

    def for_family(self, data, family, pretrained=None):
        if isinstance(data, EncodedText):
            data = data.data
        key = (family.info.name, str(pretrained))
        if key not in data.encoded_views:
            tokenizer = family.tokenizer(data, self.task.profile(data), pretrained)
            data.encoded_views[key] = EncodedText(data, tokenizer)
        return data.encoded_views[key]


def fit_to_hp(ids: np.ndarray, mask: np.ndarray, hp, names) -> dict:
    """The model's inputs `names`: cropped to the trial's sequence length, ids beyond its vocabulary
    mapped to [UNK] (1)."""
    length = _hp(hp, "sequence_length") or ids.shape[1]
    ids, mask = ids[:, :length], mask[:, :length]
    vocabulary = _hp(hp, "vocabulary_size")
    if vocabulary:
        ids = np.where(ids >= vocabulary, 1, ids).astype(np.int32)
    return named_inputs(np.ascontiguousarray(ids), np.ascontiguousarray(mask), names)


def _hp(hp, name):
    if hp is None:
        return None
    try:
        return hp.get(name)
    except (KeyError, ValueError):
        return None


class TextClassification(ClassificationTask):
    name = "text_classification"

    def load_data(self, config, arrays=None):
        return load_text_data(config.data, config.seed, arrays=arrays)

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        from automl.tasks.text_classification.selection import rank_family

        return rank_family(name, profile, pretrained)

    def profile(self, data: TextData) -> dict:
        from automl.tasks.text_classification.tokenizers import WordTokenizer

        lengths = np.array([len(WordTokenizer.words(t)) for t in data.train.texts])
        vocabulary = len({w for t in data.train.texts for w in WordTokenizer.words(t)})
        return {
            "source": data.source,
            "examples": int(sum(data.split_sizes().values())),
            "split_sizes": data.split_sizes(),
            "split_method": data.split_method,
            **self.label_profile(data),
            "words_per_text": {"mean": round(float(lengths.mean()), 1), "p50": int(np.percentile(lengths, 50)),
                               "p95": int(np.percentile(lengths, 95)), "max": int(lengths.max())},
            "train_vocabulary": vocabulary,
            "skipped_rows": dict(data.skipped),
            "skipped_examples": data.skipped_examples,
        }

    #: Each family sees the texts through its own tokenizer.
    examples = handed_over("automl.tasks.text_classification.task:TokenizedExamples")

    def model_inputs(self, hp, data):
        import keras

        length = _hp(hp, "sequence_length") or data.tokenizer.sequence_length
        return {name: keras.Input((length,), dtype="int32", name=name) for name in data.tokenizer.input_names}

    def build_head(self, hp, features, data, layers=None):
        """Dropout + softmax; `layers` may be tf_keras.layers, to build an export twin."""
        if layers is None:
            import keras

            layers = keras.layers
        rate = hp.Float("head_dropout", 0.0, 0.5, step=0.1, default=0.1)
        features = layers.Dropout(rate, name="head_dropout")(features)
        return layers.Dense(len(data.class_names), activation="softmax", dtype="float32",
                            name="predictions")(features)

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        import tensorflow as tf

        ids, mask = data.encoded(part)
        labels = data.part(part).labels
        if indices is not None:
            ids, mask, labels = ids[indices], mask[indices], labels[indices]
        ds = tf.data.Dataset.from_tensor_slices((fit_to_hp(ids, mask, hp, data.tokenizer.input_names), labels.astype(np.int32)))
        if shuffle:
            ds = ds.shuffle(min(len(labels), 20_000), reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def representative_inputs(self, data, count, seed, hp=None):
        picked = stratified_sample(data.part("train").labels, count, seed)
        ids, mask = data.encoded("train")
        return fit_to_hp(ids[picked], mask[picked], hp, data.tokenizer.input_names)

    def eval_arrays(self, data, part, hp=None):
        ids, mask = data.encoded(part)
        return fit_to_hp(ids, mask, hp, data.tokenizer.input_names), data.part(part).labels

    def baselines(self, data, hp) -> dict:
        from automl.tasks.text_classification.baselines import tfidf_baseline

        return tfidf_baseline(data)

    def final_tokenizer(self, data, hp):
        """The tokenizer that produces exactly what the exported model takes."""
        from automl.tasks.text_classification.tokenizers import WordTokenizer, WordPieceTokenizer

        tok = data.tokenizer
        length = _hp(hp, "sequence_length") or tok.sequence_length
        if isinstance(tok, WordTokenizer):  # and its n-gram subclass
            vocabulary = _hp(hp, "vocabulary_size") or len(tok.vocabulary)
            return type(tok)(tok.vocabulary[:vocabulary], length)
        return WordPieceTokenizer(tok.vocabulary, length, tok.lowercase, tok.max_chars_per_word)

    def preprocessor(self, data, hp):
        from automl.tasks.text_classification.preprocessor import TextPreprocessor

        return TextPreprocessor(self.final_tokenizer(data, hp))

    bundle_reader = handed_over("automl.tasks.text_classification.task:TextReader")

    inference = handed_over("automl.tasks.text_classification.inference:TextClassifierFiles")

    report_view = handed_over("automl.tasks.text_classification.task:TextClassificationView")

    def metadata(self, data, hp=None) -> dict:
        tok = self.final_tokenizer(data, hp)
        return {
            "labels": data.class_names,
            "inputs": {name: {"shape": [None, tok.sequence_length], "dtype": "int32"} for name in tok.input_names},
            "tokenizer": {"file": "tokenizer.json", "kind": tok.kind, "sequence_length": tok.sequence_length,
                          "vocabulary_size": len(tok.vocabulary),
                          "note": "automl.tasks.text_classification.tokenizers reproduces the training ids in pure Python"},
            "output": {"kind": "class probabilities (softmax)", "classes": len(data.class_names)},
        }

class TextReader(LabelReader):
    """A text classifier's bundle: checked on the test texts as users pass them."""

    def raw_test_inputs(self, data):
        return data.part("test").texts

    mediapipe_task = "TextClassifier"

    def mediapipe_outputs(self, model_path, raw, data):
        from automl.mediapipe_tasks import classify_texts
        from automl.tasks.text_classification.inference import WORD_MODELS_IN_MEDIAPIPE

        if data.tokenizer.kind != "wordpiece":
            raise ValueError(WORD_MODELS_IN_MEDIAPIPE)
        return classify_texts(model_path, raw, len(data.class_names))

class TextClassificationView(ClassificationView):
    """What the terminal and the report show of TextClassification runs."""

    def report_examples(self, data, targets, outputs, limit: int = 12) -> list[dict]:
        predicted = outputs.argmax(-1)
        texts = data.part("test").texts
        wrong = np.flatnonzero(predicted != targets)[:limit]
        return [{"text": texts[i][:300], "true": data.class_names[targets[i]],
                 "predicted": data.class_names[predicted[i]], "confidence": round(float(outputs[i].max()), 3)}
                for i in wrong]

    def report_sections(self, report: dict) -> list[tuple[str, str]]:
        from automl.report.html import table

        sections = super().report_sections(report)
        if report.get("report_examples"):
            rows = [[m["text"], m["true"], m["predicted"], m["confidence"]] for m in report["report_examples"]]
            sections.append(("Misclassified test examples", table(["text", "true", "predicted", "confidence"], rows)))
        skipped = report.get("dataset", {}).get("skipped_rows")
        if skipped:
            sections.append(("Skipped rows", table(["reason", "rows"], list(skipped.items()))))
        return sections
