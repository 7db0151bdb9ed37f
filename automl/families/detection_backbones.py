"""Detection backbones: a feature pyramid (P3, P4, P5: strides 8, 16, 32) that the object-detection
task's heads read (`tasks/object_detection/head.py`).

- `retinanet`: RetinaNet's design on keras-hub parts: a small ResNet of basic blocks
  (`ResNetBackbone`) and keras-hub's `FeaturePyramid`. keras-hub's RetinaNet presets are ResNet-50
  from Kaggle handles, far above a phone's budget: this one trains from scratch.
- `mobilenet_fpn`: MobileNetV3 Small (keras.applications, ImageNet weights when they can be had)
  tapped at its last layer of each stride, under the same `FeaturePyramid`: lighter on phones.

Both take pixels scaled to 0..1 (the task scales them) and convert to builtin TFLite ops.
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo, keras_applications_weights, settle_batch_norm

LEVELS = (3, 4, 5)


def feature_pyramid(hp, features: dict):
    """keras-hub's FPN on {"P3": c3, "P4": c4, "P5": c5}: every level `fpn_filters` wide."""
    from keras_hub.src.models.retinanet.feature_pyramid import FeaturePyramid

    filters = hp.Choice("fpn_filters", [64, 128], default=64)
    return FeaturePyramid(min_level=LEVELS[0], max_level=LEVELS[-1], use_p5=False, num_filters=filters,
                          name="feature_pyramid")(features)


class RetinaNetResNet(Family):
    info = FamilyInfo(
        name="retinanet",
        tasks=("object_detection",),
        description="RetinaNet-style detector: a small keras-hub ResNet of basic blocks and keras-hub's feature "
                    "pyramid, trained from scratch; builtin TFLite ops.",
        min_input_size=64,
        approx_min_mb=3.0,
    )

    def build(self, hp, inputs, *, pretrained):
        import keras
        from keras_hub.models import ResNetBackbone

        # keras-hub's ResNet wants 64 filters in its first stage (and its basic blocks then as many in
        # the stem, having no projection there); the deeper stages set the width.
        deepest = hp.Choice("deepest_filters", [128, 256], default=256)
        blocks = hp.Choice("blocks_per_stage", [1, 2], default=1)
        resnet = ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[7],
                                stackwise_num_filters=[64, 64, deepest // 2, deepest],
                                stackwise_num_blocks=[blocks] * 4, stackwise_num_strides=[1, 2, 2, 2],
                                block_type="basic_block", image_shape=tuple(inputs.shape[1:]))
        settle_batch_norm(resnet)
        taps = keras.Model(resnet.inputs, {f"P{level}": resnet.pyramid_outputs[f"P{level}"] for level in LEVELS},
                           name=self.backbone_layer)
        return feature_pyramid(hp, taps(inputs))

    def known_good(self, profile: dict) -> list[dict]:
        return [{"deepest_filters": 256, "blocks_per_stage": 1, "fpn_filters": 64, "head_convs": 2, "learning_rate": 1e-3,
                 "optimizer": "adam", "batch_size": 32}]


class MobileNetFPN(Family):
    info = FamilyInfo(
        name="mobilenet_fpn",
        tasks=("object_detection",),
        description="MobileNetV3 Small under a feature pyramid: light on phones; ImageNet weights when they can "
                    "be had.",
        min_input_size=64,
        supports_pretrained=True,
        approx_min_mb=2.0,
    )

    def build(self, hp, inputs, *, pretrained):
        import keras

        side = int(inputs.shape[1])
        alpha = hp.Choice("alpha", [0.75, 1.0], default=1.0)
        # Without its own preprocessing MobileNetV3 reads -1..1 (as its ImageNet weights were trained).
        signed = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(inputs)
        mobilenet = keras.applications.MobileNetV3Small(
            input_shape=(side, side, 3), alpha=alpha, include_top=False, include_preprocessing=False,
            weights="imagenet" if pretrained else None)
        if not pretrained:
            settle_batch_norm(mobilenet)
        taps = keras.Model(mobilenet.inputs, _last_of_each_stride(mobilenet, side), name=self.backbone_layer)
        return feature_pyramid(hp, taps(signed))

    def known_good(self, profile: dict) -> list[dict]:
        return [{"alpha": 1.0, "fpn_filters": 64, "head_convs": 2, "learning_rate": 2e-3, "optimizer": "adam",
                 "batch_size": 32}]

    def pretrained_weights_status(self):
        import keras

        return keras_applications_weights(
            lambda: keras.applications.MobileNetV3Small(input_shape=(224, 224, 3), include_top=False,
                                                        weights="imagenet"), "MobileNetV3Small")


def _last_of_each_stride(model, side: int) -> dict:
    """{"P3": ..., "P5": ...}: the output of the last layer at each of strides 8, 16 and 32."""
    taps = {}
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        if shape is None or len(shape.shape) != 4 or not shape.shape[1]:
            continue
        stride = side // int(shape.shape[1])
        for level in LEVELS:
            if stride == 2 ** level:
                taps[f"P{level}"] = layer.output
    missing = [f"P{level}" for level in LEVELS if f"P{level}" not in taps]
    if missing:
        raise ValueError(f"MobileNetV3 at {side} px has no layer at level(s) {missing}")
    return taps
