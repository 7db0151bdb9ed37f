"""The pipeline config of image classification: its `data` section."""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, field_validator

from automl.config.schema import Auto, DataConfig, ExportConfig, PipelineConfig, _not_empty


class ImageClassificationData(DataConfig):
    format: Literal["auto", "folder", "npz", "idx"] = Field(
        "auto", description="auto = a folder of class folders (or train/, val/, test/ parts of them), "
                            "an .npz file, or an MNIST-style IDX folder.")
    image_size: Union[Auto, tuple[int, int]] = Field(
        "auto", description="[height, width] images are resized to; auto = most common."
    )
    class_names: Optional[list[str]] = Field(
        None, description="Names for the classes in label order (IDX and arrays have none)."
    )
    on_bad_file: Literal["error", "skip"] = Field(
        "error", description="A corrupt or undecodable image, or an empty class folder: fail the run, "
                             "or leave it out and list it in the report."
    )
    max_examples: Optional[int] = Field(
        None, gt=0, description="Use at most this many training examples (a seeded sample)."
    )

    _names_given = field_validator("class_names")(_not_empty)

    @field_validator("image_size")
    @classmethod
    def _image_side(cls, value):
        if value != "auto" and min(value) < 8:
            raise ValueError(f"expected 'auto' or [height, width] of at least 8 px each. Received: {list(value)}")
        return value


class ImageClassificationExport(ExportConfig):
    mirror_average: Union[Auto, bool] = Field(
        "auto", description="Average the outputs over each image and its left-right mirror image (a second "
                            "pass at inference); auto = when the model trained with flips and the average "
                            "fixes more validation images than it breaks, beyond the noise.")


class ImageClassificationConfig(PipelineConfig):
    task: Literal["image_classification"]
    data: ImageClassificationData
    export: ImageClassificationExport = Field(default_factory=ImageClassificationExport)
