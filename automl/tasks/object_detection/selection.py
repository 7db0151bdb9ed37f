"""How object_detection ranks its families for a data profile (the selector's rules for it)."""

from __future__ import annotations

from typing import Optional


def rank_family(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
    images = profile["split_sizes"]["train"]
    if name == "retinanet":
        return 3.0, ["RetinaNet-style: a small ResNet and feature pyramid that train well from scratch "
                     f"({images} training images), builtin TFLite ops"], None
    if name == "mobilenet_fpn":
        if pretrained:
            return 3.5, ["MobileNetV3 Small with ImageNet weights under a feature pyramid: the lightest on phones"], None
        return 2.0, ["MobileNetV3 Small under a feature pyramid: lighter on phones, but from scratch it learns "
                     "slower than the ResNet"], None
    return 0.0, [], None
