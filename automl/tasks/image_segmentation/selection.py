"""How image_segmentation ranks its model families for a data profile (the selector's rules for it)."""

from __future__ import annotations

from typing import Optional


def rank_family(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
    tiles = profile["split_sizes"]["train"]
    if name == "unet":
        reasons = ["encoder-decoder with skips: sharp masks from few examples, builtin TFLite ops"]
        if not pretrained:
            reasons.append(f"{tiles} training tiles: trained from scratch")
        return 3.0, reasons, None
    if name == "pretrained_unet":
        if not pretrained:
            return 0.0, [], "no ImageNet weights for its encoder: a plain U-Net trains faster from scratch"
        if min(profile["image_size"]) < 64:
            return 2.0, [f"ImageNet encoder, though {min(profile['image_size'])}-px tiles leave it 2x2 px at depth"], None
        return 4.0, ["ImageNet-pretrained encoder: transfer learning for natural images"], None
    return 0.0, [], None
