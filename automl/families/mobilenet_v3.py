"""MobileNetV3 (keras.applications): the default for models that ship to phones."""

from __future__ import annotations

from automl.families.base import (
    Family, FamilyInfo, keras_applications_weights, resolution_choices, settle_batch_norm, to_resolution,
)


def _constructor(variant: str):
    import keras

    return {"small": keras.applications.MobileNetV3Small,
            "large": keras.applications.MobileNetV3Large}[variant]


class MobileNetV3(Family):
    info = FamilyInfo(
        name="mobilenet_v3",
        tasks=("image_classification",),
        description="keras.applications MobileNetV3 Small/Large; fast on phones, ImageNet weights when they can be had.",
        min_input_size=32,
        supports_pretrained=True,
        approx_min_mb=4.0,
    )

    def build(self, hp, inputs, *, pretrained: bool):
        native = min(inputs.shape[1], inputs.shape[2])
        variant = hp.Choice("variant", ["small", "large"], default="small")
        alpha = hp.Choice("alpha", [0.75, 1.0], default=1.0)
        side = hp.Choice("resolution", resolution_choices(native, self.info.min_input_size),
                         default=resolution_choices(native, self.info.min_input_size)[-1])
        channels = 3 if pretrained else inputs.shape[-1]
        x = to_resolution(inputs, side, channels)
        backbone = _constructor(variant)(
            input_shape=(side, side, channels), alpha=alpha, include_top=False,
            weights="imagenet" if pretrained else None, include_preprocessing=True,
            minimalistic=False,
            name=self.backbone_layer,
        )
        if not pretrained:
            settle_batch_norm(backbone)
        return backbone(x)

    def known_good(self, profile: dict) -> list[dict]:
        return [{"variant": "small", "alpha": 1.0, "learning_rate": 1e-3, "optimizer": "adam",
                 "batch_size": 64, "head_dropout": 0.2}]

    def pretrained_weights_status(self) -> tuple[bool, str]:
        return keras_applications_weights(
            lambda: _constructor("small")(input_shape=(224, 224, 3), include_top=False,
                                          weights="imagenet"),
            "MobileNetV3Small",
        )
