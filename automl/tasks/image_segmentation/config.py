"""The pipeline config of image segmentation: its `data` section and class table."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from automl.config.schema import Auto, DataConfig, PipelineConfig, _not_empty, _Strict, multiple_of_32_or_auto, not_negative_or_auto


class SegmentationClass(_Strict):
    """One row of a segmentation class table: the mask value or colour that means a class."""

    name: str
    value: Optional[int] = Field(None, ge=0, description="Mask pixel value (grey or palette index).")
    color: Optional[tuple[int, int, int]] = Field(None, description="Mask pixel colour [r, g, b].")

    @field_validator("color")
    @classmethod
    def _channel_range(cls, value):
        if value is not None and not all(0 <= c <= 255 for c in value):
            raise ValueError(f"expected three values 0..255. Received: {list(value)}")
        return value

    @model_validator(mode="after")
    def _value_or_color(self):
        if (self.value is None) == (self.color is None):
            raise ValueError(f"class {self.name!r}: give exactly one of value or color. "
                             f"Received: value={self.value}, color={self.color}")
        return self


class SegmentationData(DataConfig):
    path_keys: ClassVar[tuple[str, ...]] = ("path", "mask_path")
    asked_keys: ClassVar[tuple[str, ...]] = ("path", "mask_path")

    mask_path: Optional[str] = Field(
        None, description="Mask file or folder for the image(s) at data.path; by default the "
                          "masks/ folder beside images/ (matched by file stem).")
    classes: Optional[list[SegmentationClass]] = Field(
        None, description="Class table: which mask value or colour is which class, in class order; "
                          "by default mask values are class indices.")
    class_names: Optional[list[str]] = Field(
        None, description="Names for the classes in class order (when masks hold class indices).")
    instance_masks: bool = Field(
        False, description="Masks hold instance ids: 0 is background, every other value foreground.")
    tile_size: Union[Auto, int] = Field(
        "auto", description="Side of the square tiles large images are cut into (a multiple of 32); "
                            "auto = up to 128, within the smallest image.")
    tile_overlap: Union[Auto, int] = Field(
        "auto", description="Pixels neighbouring tiles share, in training tiles and when stitching "
                            "predictions; auto = half a tile.")

    _lists = field_validator("classes", "class_names")(_not_empty)

    _tile_multiple = field_validator("tile_size")(multiple_of_32_or_auto(32, "the U-Net halves tiles up to 5 times"))

    _overlap = field_validator("tile_overlap")(not_negative_or_auto)


class SegmentationConfig(PipelineConfig):
    task: Literal["image_segmentation"]
    data: SegmentationData
