"""Text classification's preprocessor: raw texts -> token ids, with the tokenizer the model was trained with."""

from __future__ import annotations

from pathlib import Path

from automl.preprocessing import Preprocessor

TOKENIZER_FILE = "tokenizer.json"


class TextPreprocessor(Preprocessor):
    """Tokenizes texts in pure Python (word or WordPiece), as in training; already
    encoded inputs (a dict of arrays by input name) pass through."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def encode(self, inputs):
        from automl.tasks.text_classification.tokenizers import encode_inputs

        if isinstance(inputs, dict):
            return inputs
        if isinstance(inputs, str):
            inputs = [inputs]
        return encode_inputs(self.tokenizer, [str(text) for text in inputs])

    def get_config(self) -> dict:
        return {"tokenizer": TOKENIZER_FILE}

    def save_files(self, folder: Path) -> None:
        from automl.tasks.text_classification.tokenizers import save_tokenizer

        save_tokenizer(self.tokenizer, Path(folder) / TOKENIZER_FILE)

    @classmethod
    def from_config(cls, config: dict, folder: Path) -> "TextPreprocessor":
        from automl.tasks.text_classification.tokenizers import load_tokenizer

        return cls(load_tokenizer(Path(folder) / config["tokenizer"]))
