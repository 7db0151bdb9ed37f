"""How text_classification ranks its model families for a data profile (the selector's rules for it)."""

from __future__ import annotations

from typing import Optional

from automl.families.bert import MAX_TOKENS as BERT_TOKENS
from automl.families.bilstm import MAX_WORDS as BILSTM_WORDS


def rank_family(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
    examples = profile["split_sizes"]["train"]
    p95 = profile["words_per_text"]["p95"]
    reasons: list[str] = []
    if name == "bag_of_ngrams":
        from automl.families.bag_of_ngrams import sequence_length

        score = 2.5
        reasons.append(f"trains in seconds and reads {sequence_length(profile)} words and word pairs per text")
        if p95 > BILSTM_WORDS:
            score += 2.0
            reasons.append(f"long texts (95th percentile {p95} words): the other families read only their start")
        return score, reasons, None
    if name == "bert":
        if pretrained:
            score = 4.0
            reasons.append("pretrained encoder available: transfer learning beats training from scratch")
        else:
            score = 1.0 if examples >= 20_000 else 0.5
            reasons.append(f"no pretrained encoder: a small BERT trained from scratch on {examples} examples")
        if p95 * 1.3 > BERT_TOKENS:
            reasons.append(f"reads the first {BERT_TOKENS} word pieces at most; the 95th-percentile training "
                           f"text has {p95} words")
        return score, reasons, None
    if name == "bilstm":
        score = 2.0
        reasons.append("fast to train on CPU; small fused-LSTM TFLite model")
        if examples < 20_000:
            score += 1
            reasons.append(f"{examples} training examples: few parameters overfit less")
        if p95 > BILSTM_WORDS:
            reasons.append(f"reads the first {BILSTM_WORDS} words; the 95th-percentile training text has {p95}")
        return score, reasons, None
    return 0.0, reasons, None
