"""Forecasts that need no model, computed on the same windows as the models.

naive: the last value, repeated. seasonal_naive: the value one season
before each forecast step. seasonal_naive_drift: seasonal naive plus the
change over the last season, once per season looked back.
"""

from __future__ import annotations

import numpy as np

BASELINES = ("naive", "seasonal_naive", "seasonal_naive_drift")


def baseline_forecasts(targets: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> dict:
    """{name: forecasts (windows, horizon, targets)} from the raw target columns."""
    steps = np.arange(horizon)
    seasons_back = steps // season + 1  # 1 for steps inside the first season, 2 for the next...
    last = targets[origins - 1]  # (N, k)
    same_phase = origins[:, None] + steps[None, :] - seasons_back[None, :] * season
    seasonal = targets[same_phase]  # (N, H, k)
    change = targets[origins - 1] - targets[origins - 1 - season]  # (N, k)
    return {
        "naive": np.repeat(last[:, None, :], horizon, axis=1),
        "seasonal_naive": seasonal,
        "seasonal_naive_drift": seasonal + seasons_back[None, :, None] * change[:, None, :],
    }


def min_history(season: int) -> int:
    """Steps of past the baselines need before an origin."""
    return season + 1


def feasible(name: str, lookback: int, season: int) -> bool:
    """Whether a window of `lookback` steps holds the history the rule reads."""
    return name == "naive" or lookback >= min_history(season) or (name == "seasonal_naive" and lookback >= season)


def linear_kernel(name: str, lookback: int, horizon: int, season: int, num_targets: int, columns: int) -> np.ndarray:
    """The rule as a (lookback * columns, horizon * num_targets) matrix on centred windows.

    A centred window holds each target minus its last value, so the naive
    forecast is all zeros and the seasonal rules pick (and subtract) steps.
    Multiplying the flattened window by the matrix gives the rule's forecast
    changes, flattened step by step.
    """
    kernel = np.zeros((lookback * columns, horizon * num_targets), dtype=np.float32)
    if name == "naive":
        return kernel
    for h in range(horizon):
        back = h // season + 1
        same_phase = lookback + h - back * season
        for j in range(num_targets):
            out = h * num_targets + j
            kernel[same_phase * columns + j, out] += 1.0
            if name == "seasonal_naive_drift":
                kernel[(lookback - 1 - season) * columns + j, out] -= back
    return kernel
