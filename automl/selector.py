"""Chooses and ranks model families for a data profile, with the reasons.

All the policy about which family suits which data lives here; the config
loader only validates and the search only runs what it is handed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

from automl.errors import ConfigError
from automl.families import family_names, get_family
from automl.readable import plural


@dataclass
class Candidate:
    family: str
    score: float
    reasons: list[str]
    #: False, or the weights source (True for a family's standard weights, or a preset).
    pretrained: object = False
    known_good: list[dict] = field(default_factory=list)


@dataclass
class Selection:
    candidates: list[Candidate]
    excluded: list[dict]
    pinned: bool

    def families_by_score(self) -> list[str]:
        """Candidate families, highest selector score first (the candidate list itself puts
        the fast families first, for the search's sake)."""
        return [c.family for c in sorted(self.candidates, key=lambda c: -c.score)]

    def to_report(self) -> dict:
        return {
            "pinned": self.pinned,
            "families": [asdict(c) for c in self.candidates],
            "excluded": self.excluded,
        }


WeightsCheck = Callable[[object], "tuple[object, str]"]


def _default_weights_check(family) -> tuple[object, str]:
    return family.pretrained_weights_status()


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


def select_families(task: str, profile: dict, config, weights_check: WeightsCheck = _default_weights_check) -> Selection:
    """Ranks the task's families for `profile` under the config's constraints.

    Args:
        task: task name.
        profile: the dataset profile from the task.
        config: the whole `PipelineConfig` (search and constraints are read).
        weights_check: returns (weights source or falsy, message) for a family instance.
    """
    from automl.tasks import get_task_class

    task_class = get_task_class(task)
    search = config.search
    available = family_names(task)
    pinned = search.families != "auto"
    names = list(search.families) if pinned else available
    for name in names:
        info = get_family(name).info  # raises a clear error for unknown names
        if task not in info.tasks:
            raise ConfigError(
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
                raise ConfigError(f"search.pretrained is true but {weights_note}")
        score, reasons, exclusion = task_class.rank_family(name, profile, use_pretrained)
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
        fast = [c for c in candidates[keep:] if get_family(c.family).info.fast and keep < search.max_trials]
        for dropped in candidates[keep:]:
            if dropped in fast:
                dropped.reasons.append("searched beside the ranked families: its trials take seconds")
                continue
            excluded.append({"family": dropped.family,
                             "reason": f"ranked below the {plural(keep, 'family', 'families')} the time and trial "
                                       f"budget allow"})
        candidates = candidates[:keep] + fast
    if not candidates:
        raise ConfigError("no family fits this data and these settings: "
                          + "; ".join(f"{e['family']}: {e['reason']}" for e in excluded))
    if not pinned:
        # Fast families go first: whatever the rest of the budget does, they leave a model.
        # How many trials each family gets is the search oracle's call, from their scores.
        candidates.sort(key=lambda c: not get_family(c.family).info.fast)
    return Selection(candidates, excluded, pinned)
