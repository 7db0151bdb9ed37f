"""The seasons of a series: candidate periods from its frequency, kept when the data shows them.

A half-hourly load has a day (48 steps) and a week (336 steps); hourly
temperatures have a day but no week. Candidates come from the calendar
(sub-daily steps: the day, the week and the year; daily: the week and the
year; weekly: the year; monthly and quarterly: the year). A candidate is
kept when the training part holds two of its cycles and

- the step-to-step changes correlate at its lag (autocorrelation of at
  least MIN_SEASONAL_AUTOCORRELATION; changes, because a trend would make
  every lag look seasonal), and
- when it is a multiple of a season already kept (the week of the day), the
  value one cycle back forecasts clearly better than the value one shorter
  cycle back (mean absolute seasonal difference below NESTED_GAIN of the
  shorter one's): otherwise the longer cycle adds nothing.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

#: Below this autocorrelation of the changes at a candidate's lag, no cycle is assumed.
MIN_SEASONAL_AUTOCORRELATION = 0.1
#: A season that is a multiple of a kept one must cut the seasonal difference below this share.
NESTED_GAIN = 0.9

_DAY = 86400
_CYCLES = (("daily", _DAY), ("weekly", 7 * _DAY), ("yearly", 365.25 * _DAY))


def candidate_periods(frequency) -> list[tuple[int, str]]:
    """(steps, cycle name) of the calendar cycles longer than one step, shortest first."""
    if frequency.months:
        return {1: [(12, "yearly")], 3: [(4, "yearly")]}.get(frequency.months, [])
    step = frequency.seconds
    out = []
    for name, seconds in _CYCLES:
        steps = int(round(seconds / step))
        exact = name == "yearly" or seconds % step == 0
        if steps >= 2 and exact:
            out.append((steps, name))
    return out


def find_seasons(setting, frequency, train_target: np.ndarray) -> tuple[list[int], str]:
    """The kept seasons (shortest first; [1] when none) and a sentence saying why.

    Args:
        setting: `data.season`: "auto", one period or a list of periods.
        frequency: the series' `Frequency`.
        train_target: the first target over the training part.
    """
    if setting != "auto":
        periods = sorted({int(p) for p in (setting if isinstance(setting, list) else [setting])})
        return periods, "data.season"
    kept: list[int] = []
    found: list[str] = []
    notes: list[str] = []  # candidates left out, and why
    for period, cycle in candidate_periods(frequency):
        finite = train_target[np.isfinite(train_target)]
        if len(finite) < 2 * period + 2:
            continue
        strength = autocorrelation(finite, period)
        if strength is None or strength < MIN_SEASONAL_AUTOCORRELATION:
            notes.append(f"no {cycle} cycle (autocorrelation {strength} at lag {period})")
            continue
        shorter = [q for q in kept if period % q == 0]
        if shorter:
            gain = seasonal_difference(finite, period) / max(seasonal_difference(finite, shorter[-1]), 1e-12)
            if gain >= NESTED_GAIN:
                notes.append(f"no {cycle} cycle beyond the {shorter[-1]}-step one (seasonal difference "
                             f"{gain:.2f} of it)")
                continue
        kept.append(period)
        found.append(f"the {cycle} cycle of {period} steps (autocorrelation {strength})")
    if not kept:
        reason = "; ".join(notes) if notes else "no calendar cycle fits twice in the training part"
        return [1], f"{frequency.name} steps: no cycle assumed ({reason}; set data.season to name one)"
    return kept, f"{frequency.name} steps: " + "; ".join(found + notes)


def autocorrelation(values: np.ndarray, lag: int) -> Optional[float]:
    """Autocorrelation of the step-to-step changes at `lag`."""
    values = values[np.isfinite(values)]
    if lag < 1 or len(values) <= 2 * lag + 1:
        return None
    diffs = np.diff(values)
    a, b = diffs[:-lag] - diffs.mean(), diffs[lag:] - diffs.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return round(float((a * b).sum() / denominator), 3) if denominator > 0 else None


def seasonal_difference(values: np.ndarray, lag: int) -> float:
    """Mean absolute difference between each value and the one `lag` steps before."""
    return float(np.mean(np.abs(values[lag:] - values[:-lag])))
