"""Whether the model forecasts the logs of the targets: chosen on backtests of the rule.

When a season's swing grows with the level (airline passengers: the summer peak doubles as
traffic doubles), a rule or network that adds the same change at every level misses it; on
logs the swing is steady and a seasonal rule with drift becomes a multiplicative one. The
choice is made once, before the search, at the default lookback: the starting rule (it fits
nothing, so every window of the training and validation parts is a fair backtest of it) forecasts
the plain and the logged series, and logs are kept when their per-window MAE in the data's own
units is lower by more than LOG_EVIDENCE standard errors. Measured on the rules of four series,
the gain was within about one standard error on each (air passengers +0.14 on 84 windows, the
half-hourly load +0.77, CO2 -1.62, Seattle's temperatures +1.01, whose test windows then lost
2.07 on logs): logs change every forecast, so they are an option the data must earn clearly.
Logs need every target value above zero. The model applies the log and its inverse itself
(`layers.LogLevels`), so the exported file takes and returns what every forecaster does.
"""

from __future__ import annotations

import numpy as np

from automl.errors import DataError
from automl.tasks.time_series_forecasting.evidence import gain_in_standard_errors, independent_windows
from automl.tasks.time_series_forecasting.linear_start import raw_window_errors

#: The parts the rule is backtested on: it fits nothing, so training windows are fair evidence.
BACKTEST_PARTS = ("train", "val")
#: Standard errors the logs' gain must pass (twice what a blend's must: see the module doc).
LOG_EVIDENCE = 2.0


def choose_log(data, lookback: int, rule, wanted: str = "auto") -> dict:
    """Sets `data.log_targets` (with the training part's log mean and std) as `wanted` says
    (data.transform): always, never, or (auto) when the rule's backtests gain on logs by more than
    LOG_EVIDENCE standard errors; returns what was compared, for the profile."""
    if wanted == "none":
        return {"log": False, "why": "data.transform: none"}
    targets = data.values[:, : data.num_targets]
    known = targets[np.isfinite(targets)]
    if not len(known) or known.min() <= 0:
        if wanted == "log":
            raise DataError(f"{data.source}: data.transform is 'log' but a target value is {known.min():g}; "
                            f"logs need values above zero. Use transform: none or auto")
        return {"log": False, "why": "a target value is zero or below: logs need positive values"}
    kernel = rule.linear_kernel(lookback, data.horizon, data.num_targets, len(data.columns))
    plain = raw_window_errors(data, BACKTEST_PARTS, lookback, kernel)
    train = np.log(targets[data.train_mask])
    log_std = np.nanstd(train, axis=0)
    data.log_targets, data.log_mean, data.log_std = True, np.nanmean(train, axis=0), np.where(log_std > 1e-8, log_std, 1.0)
    logged = raw_window_errors(data, BACKTEST_PARTS, lookback, kernel)
    gain = gain_in_standard_errors(plain - logged, independent_windows(len(plain), data.horizon))
    data.log_targets = bool(wanted == "log" or gain > LOG_EVIDENCE)
    return {"log": bool(data.log_targets), "chosen_by": "data.transform" if wanted == "log" else "backtests",
            "rule": rule.name, "lookback": lookback, "windows": int(len(plain)),
            "mae": {"plain": round(float(plain.mean()), 6), "log": round(float(logged.mean()), 6)},
            "gain_in_standard_errors": round(float(gain), 2)}
