"""How text_classification ranks its model families for a data profile (the selector's rules for it)."""

from __future__ import annotations

from typing import Optional


def rank_family(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
    examples = profile["split_sizes"]["train"]
    reasons: list[str] = []
    if name == "bert":
        if pretrained:
            return 4.0, ["pretrained encoder available: transfer learning beats training from scratch"], None
        score = 1.0 if examples >= 20_000 else 0.5
        reasons.append(f"no pretrained encoder: a small BERT trained from scratch on {examples} examples")
        return score, reasons, None
    if name == "bilstm":
        score = 2.0
        reasons.append("fast to train on CPU; small fused-LSTM TFLite model")
        if examples < 20_000:
            score += 1
            reasons.append(f"{examples} training examples: few parameters overfit less")
        return score, reasons, None
    return 0.0, reasons, None
