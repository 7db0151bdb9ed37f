"""How image_classification ranks its model families for a data profile (the selector's rules for it)."""

from __future__ import annotations

from typing import Optional


def rank_family(name: str, profile: dict, pretrained: bool) -> tuple[float, list[str], Optional[str]]:
    """Score, reasons, and an exclusion reason (None = keep) for one family."""
    side = min(profile["image_size"])
    examples = profile["split_sizes"]["train"]
    reasons: list[str] = []
    score = 0.0
    if name == "small_cnn":
        score = 1.0
        if side <= 64:
            score += 2
            reasons.append(f"images are {side} px: a small CNN works at native resolution")
        if examples < 5000:
            score += 1
            reasons.append(f"{examples} training examples: few parameters overfit less")
        if pretrained is False and side > 64:
            reasons.append("fast baseline for larger images")
    elif name == "mobilenet_v3":
        score = 2.0
        reasons.append("mobile default: fast on phones, builtin TFLite ops")
        if pretrained:
            score += 2
            reasons.append("ImageNet weights available: transfer learning")
        elif side < 64:
            score -= 1.5
            reasons.append(f"no pretrained weights and {side}-px images: upsampled, so it costs more than it gains")
    elif name == "efficientnet":
        if pretrained and side >= 64:
            score = 4.0
            reasons.append("ImageNet weights available and images of at least 64 px: best accuracy")
        elif pretrained:
            score = 2.0
            reasons.append(f"ImageNet weights available, but {side}-px images are upsampled to 96 px")
        elif side < 96:
            return 0.0, reasons, (
                f"no pretrained weights and {side}-px images: an EfficientNet built for "
                "224+ px and trained from scratch is not worth its cost here"
            )
        else:
            score = 0.5
            reasons.append("no pretrained weights: trained from scratch, slow to converge")
    return score, reasons, None
