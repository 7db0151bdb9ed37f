"""Chooses and ranks model families for a data profile, with the reasons.

All the policy about which family suits which data lives here; the config
loader only validates and the search only runs what it is handed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

from automl.families import family_names, get_family


@dataclass
class Candidate:
    family: str
    score: float
    reasons: list[str]
    #: False, or the weights source (True for a family's standard weights, or a preset).
    pretrained: object = False
    known_good: list[dict] = field(default_factory=list)
    max_trials: int = 0


@dataclass
class Selection:
    candidates: list[Candidate]
    excluded: list[dict]
    pinned: bool

    def to_report(self) -> dict:
        return {
            "pinned": self.pinned,
            "families": [asdict(c) for c in self.candidates],
            "excluded": self.excluded,
        }


WeightsCheck = Callable[[object], "tuple[object, str]"]


def _default_weights_check(family) -> tuple[object, str]:
    return family.pretrained_weights_status()


def _image_classification_rules(name: str, profile: dict, pretrained: bool) -> tuple[float, list[str], Optional[str]]:
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


def _text_classification_rules(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
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


def _forecasting_rules(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
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


def _segmentation_rules(name: str, profile: dict, pretrained) -> tuple[float, list[str], Optional[str]]:
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


RULES = {
    "image_classification": _image_classification_rules,
    "image_segmentation": _segmentation_rules,
    "text_classification": _text_classification_rules,
    "time_series_forecasting": _forecasting_rules,
}


def _family_count(max_families, time_limit: Optional[float], available: int) -> int:
    if max_families != "auto":
        return max(1, min(int(max_families), available))
    if time_limit is None:
        wanted = 2
    elif time_limit < 10 * 60:
        wanted = 1
    elif time_limit < 45 * 60:
        wanted = 2
    else:
        wanted = 3
    return max(1, min(wanted, available))


def allot_trials(candidates: list[Candidate], max_trials: int) -> None:
    """Shares the trial budget, more to higher-ranked families, at least one each."""
    weights = list(range(len(candidates), 0, -1))
    total = sum(weights)
    allotted = [max(1, int(max_trials * w / total)) for w in weights]
    spare = max_trials - sum(allotted)
    i = 0
    while spare > 0:
        allotted[i % len(allotted)] += 1
        spare -= 1
        i += 1
    for candidate, count in zip(candidates, allotted):
        candidate.max_trials = count


def select_families(task: str, profile: dict, config, weights_check: WeightsCheck = _default_weights_check) -> Selection:
    """Ranks the task's families for `profile` under the config's constraints.

    Args:
        task: task name.
        profile: the dataset profile from the task.
        config: the whole `PipelineConfig` (search and constraints are read).
        weights_check: returns (weights source or falsy, message) for a family instance.
    """
    search = config.search
    available = family_names(task)
    pinned = search.families != "auto"
    names = list(search.families) if pinned else available
    for name in names:
        info = get_family(name).info  # raises a clear error for unknown names
        if task not in info.tasks:
            raise ValueError(
                f"search.families: {name!r} does not serve task {task!r}. "
                f"Families for it: {', '.join(available)}"
            )
    candidates, excluded = [], []
    for name in names:
        family = get_family(name)
        if name in search.presets:
            family.preset = search.presets[name]
        use_pretrained, weights_note = False, None
        if family.info.supports_pretrained and search.pretrained is not False:
            use_pretrained, weights_note = weights_check(family)
            if search.pretrained is True and not use_pretrained:
                raise RuntimeError(f"search.pretrained is true but {weights_note}")
        score, reasons, exclusion = RULES[task](name, profile, use_pretrained)
        if weights_note:
            reasons.append(weights_note)
        limit = config.constraints.max_model_mb
        if limit is not None and family.info.approx_min_mb > limit:
            exclusion = exclusion or (
                f"its smallest model is about {family.info.approx_min_mb} MB, over "
                f"constraints.max_model_mb={limit}"
            )
        if exclusion and not pinned:
            note = f" ({weights_note})" if weights_note else ""
            excluded.append({"family": name, "reason": exclusion + note})
            continue
        if pinned:
            reasons.insert(0, "pinned by search.families")
            if exclusion:
                reasons.append(f"kept although: {exclusion}")
        candidates.append(Candidate(name, round(score, 2), reasons, use_pretrained,
                                    family.known_good(profile)))
    if not pinned:
        candidates.sort(key=lambda c: -c.score)
        # A family without a trial is not searched: no more families than trials.
        keep = min(_family_count(search.max_families, search.time_limit, len(candidates)), search.max_trials)
        for dropped in candidates[keep:]:
            excluded.append({"family": dropped.family,
                             "reason": f"ranked below the {keep} family(ies) the time and trial budget allow"})
        candidates = candidates[:keep]
    if not candidates:
        raise RuntimeError(f"No family fits this data: {excluded}")
    allot_trials(candidates, max(search.max_trials, len(candidates)))
    return Selection(candidates, excluded, pinned)
