"""The pipeline config of object detection: its `data` section."""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, field_validator

from automl.config.schema import Auto, DataConfig, PipelineConfig, _not_empty, multiple_of_32_or_auto


class DetectionData(DataConfig):
    format: Literal["auto", "coco", "voc", "yolo"] = Field(
        "auto", description="Annotation layout at data.path: a COCO .json (or a folder holding one), Pascal VOC "
                            ".xml files, or YOLO images/ and labels/ folders; auto tells them apart.")
    class_names: Optional[list[str]] = Field(
        None, description="The classes in index order, for YOLO labels without a names file, or to fix the "
                          "order (a box of a class not listed is an error).")
    input_size: Union[Auto, int] = Field(
        "auto", description="Side of the square the images are resized to (a multiple of 32); auto = large "
                            "enough that the smallest boxes span a few cells of the finest feature map, "
                            "within the images' own size.")

    _names = field_validator("class_names")(_not_empty)
    _size = field_validator("input_size")(multiple_of_32_or_auto(64, "the backbone halves the image five times"))


class DetectionConfig(PipelineConfig):
    task: Literal["object_detection"]
    data: DetectionData
