"""Forecasts that need no model, computed on the same windows as the models.

naive: the last value, repeated. seasonal_naive: the value one season
before each forecast step. seasonal_naive_drift: seasonal naive plus the
change over the last season, once per season looked back. With several
seasons (a day and a week) each gets its seasonal rules; the first
(shortest) season's keep the plain names, the others add their period
(`seasonal_naive_336`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("naive", "seasonal_naive", "seasonal_naive_drift")


@dataclass(frozen=True)
class Rule:
    """One baseline: a kind of rule and the season it looks back by."""

    kind: str
    season: int = 1
    name: str = ""

    def forecast(self, targets: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Forecasts (windows, horizon, targets) from the raw target columns."""
        last = targets[origins - 1]  # (N, k)
        if self.kind == "naive":
            return np.repeat(last[:, None, :], horizon, axis=1)
        steps = np.arange(horizon)
        seasons_back = steps // self.season + 1  # 1 inside the first season, 2 in the next...
        same_phase = origins[:, None] + steps[None, :] - seasons_back[None, :] * self.season
        seasonal = targets[same_phase]  # (N, H, k)
        if self.kind == "seasonal_naive":
            return seasonal
        change = targets[origins - 1] - targets[origins - 1 - self.season]  # (N, k)
        return seasonal + seasons_back[None, :, None] * change[:, None, :]

    @property
    def history(self) -> int:
        """Steps of past the rule reads before an origin."""
        return 1 if self.kind == "naive" else self.season + (self.kind == "seasonal_naive_drift")

    def feasible(self, lookback: int) -> bool:
        """Whether a window of `lookback` steps holds the history the rule reads."""
        return lookback >= self.history

    def linear_kernel(self, lookback: int, horizon: int, num_targets: int, columns: int) -> np.ndarray:
        """The rule as a (lookback * columns, horizon * num_targets) matrix on centred windows.

        A centred window holds each target minus its last value, so the naive
        forecast is all zeros and the seasonal rules pick (and subtract) steps.
        Multiplying the flattened window by the matrix gives the rule's forecast
        changes, flattened step by step.
        """
        kernel = np.zeros((lookback * columns, horizon * num_targets), dtype=np.float32)
        if self.kind == "naive":
            return kernel
        for h in range(horizon):
            back = h // self.season + 1
            same_phase = lookback + h - back * self.season
            for j in range(num_targets):
                out = h * num_targets + j
                kernel[same_phase * columns + j, out] += 1.0
                if self.kind == "seasonal_naive_drift":
                    kernel[(lookback - 1 - self.season) * columns + j, out] -= back
        return kernel


def rules_for(seasons: list[int]) -> list[Rule]:
    """naive, then the seasonal rules of each season (the first season's under the plain names)."""
    rules = [Rule("naive", 1, "naive")]
    for index, season in enumerate(seasons):
        suffix = "" if index == 0 else f"_{season}"
        rules += [Rule(kind, season, kind + suffix) for kind in KINDS[1:]]
    return rules


def longest_history(seasons: list[int]) -> int:
    """Steps of past every rule of these seasons can read."""
    return max(rule.history for rule in rules_for(seasons))
