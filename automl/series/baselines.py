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
