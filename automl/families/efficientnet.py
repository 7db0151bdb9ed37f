"""EfficientNet B0 and up (keras.applications): accurate, best with ImageNet weights."""

from __future__ import annotations

from automl.families.base import (
    Family, FamilyInfo, keras_applications_weights, resolution_choices, settle_batch_norm, to_resolution,
)

VARIANTS = ("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7")


def _constructor(variant: str):
    import keras

    return getattr(keras.applications, f"EfficientNet{variant.upper()}")


class EfficientNet(Family):
    info = FamilyInfo(
        name="efficientnet",
        tasks=("image_classification",),
        description="keras.applications EfficientNet B0-B7; strongest with ImageNet weights on images of 96 px and more.",
        min_input_size=32,
        supports_pretrained=True,
        needs_pretrained=True,
        approx_min_mb=16.0,
    )

    def build(self, hp, inputs, *, pretrained: bool):
        native = min(inputs.shape[1], inputs.shape[2])
        # Larger variants are reachable by pinning `variant`; the search stays cheap.
        variant = hp.Choice("variant", ["b0", "b1"], default="b0")
        if variant not in VARIANTS:
            raise ValueError(f"EfficientNet variant must be one of {VARIANTS}. Received: variant={variant!r}")
        min_side = 96 if pretrained else self.info.min_input_size
        choices = resolution_choices(native, min_side)
        side = hp.Choice("resolution", choices, default=choices[0])
        channels = 3 if pretrained else inputs.shape[-1]
        x = to_resolution(inputs, side, channels)
        backbone = _constructor(variant)(
            input_shape=(side, side, channels), include_top=False,
            weights="imagenet" if pretrained else None,
            name=self.backbone_layer,
        )
        if not pretrained:
            settle_batch_norm(backbone)
        return backbone(x)

    def known_good(self, profile: dict) -> list[dict]:
        return [{"variant": "b0", "learning_rate": 1e-3, "optimizer": "adam",
                 "batch_size": 32, "head_dropout": 0.3}]

    def pretrained_weights_status(self) -> tuple[bool, str]:
        return keras_applications_weights(
            lambda: _constructor("b0")(input_shape=(224, 224, 3), include_top=False,
                                       weights="imagenet"),
            "EfficientNetB0",
        )
