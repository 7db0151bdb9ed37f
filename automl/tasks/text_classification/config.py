"""The pipeline config of text classification: its `data` section."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import Field, field_validator

from automl.config.schema import DataConfig, PipelineConfig, _not_empty, check_encoding


class TextClassificationData(DataConfig):
    asked_keys: ClassVar[tuple[str, ...]] = ("path", "text_column", "label_column")
    format: Literal["auto", "csv", "tsv", "jsonl", "folder"] = Field(
        "auto", description="auto = from the file's suffix (.csv, .tsv, .jsonl; .gz/.bz2 too), or a folder "
                            "of .txt files per class.")
    encoding: str = Field(
        "auto", description="Text encoding of the files (e.g. latin-1, cp1252); auto = UTF-8 (or UTF-16 "
                            "with a byte-order mark), and a file that is not is an error.")
    text_column: str = Field("text", description="Text column (CSV, TSV, JSON Lines).")
    label_column: str = Field("label", description="Label column (CSV, TSV, JSON Lines).")
    labels: Optional[list[str]] = Field(
        None, description="Keep only rows with these labels, in this order; others are counted and dropped."
    )
    on_bad_row: Literal["error", "skip"] = Field(
        "skip", description="Empty text, missing label or non-UTF-8 bytes: fail, or skip and count in the report."
    )
    max_examples: Optional[int] = Field(
        None, gt=0, description="Use at most this many training examples (a seeded sample)."
    )

    _labels_given = field_validator("labels")(_not_empty)
    _encoding = field_validator("encoding")(check_encoding)


class TextClassificationConfig(PipelineConfig):
    task: Literal["text_classification"]
    data: TextClassificationData
