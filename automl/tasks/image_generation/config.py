"""The pipeline config of image generation: its `data` and `quality` sections."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from automl.config.schema import PipelineConfig, _Strict
from automl.tasks.image_classification.config import ImageClassificationData


class ImageGenerationData(ImageClassificationData):
    use_labels: bool = Field(
        True, description="Use the source's labels (class folders, label arrays): the quality network is then "
                          "a classifier and the generator may be class-conditional; false treats all images alike.")


class QualityConfig(_Strict):
    """The feature network every trial is scored with, trained once before the search."""

    feature_epochs: int = Field(4, ge=1, description="Epochs the feature network trains (seeded, once per run); "
                                                     "at least 2,000 steps on small data, fewer when validation "
                                                     "stops improving.")
    samples: int = Field(2000, ge=100, description="Generated images compared with as many real validation "
                                                   "images after each epoch (the search objective).")


class ImageGenerationConfig(PipelineConfig):
    task: Literal["image_generation"]
    data: ImageGenerationData
    quality: QualityConfig = Field(default_factory=QualityConfig)

    @field_validator("export")
    @classmethod
    def _no_compression(cls, export):
        """tfmot fine-tunes one supervised model; a GAN trains two networks against each other."""
        if export.compression.techniques:
            raise ValueError(f"compression: image generation cannot be compressed (tfmot fine-tunes one supervised "
                             f"model; a GAN trains two networks against each other): leave it out. Received: "
                             f"techniques={export.compression.techniques}")
        return export
