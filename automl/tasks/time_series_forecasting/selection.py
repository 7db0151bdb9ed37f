"""How time_series_forecasting ranks its model families for a data profile (the selector's rules for it)."""

from __future__ import annotations

from typing import Optional


def rank_family(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
    windows = profile["windows"]["train"]
    longest = max(profile["lookback_choices"])
    reasons: list[str] = []
    if name == "transformer":
        score = 3.0
        reasons.append("patch attention sees the whole lookback at few tokens")
        if windows < 500:
            score -= 1.5
            reasons.append(f"only {windows} training windows to fit attention")
        return score, reasons, None
    if name == "tcn":
        return 2.5, ["dilated causal convolutions: fast on CPU and phones, builtin TFLite ops"], None
    if name == "lstm":
        score = 2.0
        reasons.append("recurrent baseline model")
        if longest > 200:
            score -= 0.5
            reasons.append(f"lookbacks up to {longest} steps: unrolled on the phone, one step at a time")
        return score, reasons, None
    return 0.0, reasons, None
