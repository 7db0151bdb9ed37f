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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.tasks.time_series_forecasting.windows import evenly_spaced, gather, origins

#: Windows per fitted weight below which a least-squares fit is not tried.
MIN_WINDOWS_PER_WEIGHT = 10
#: Windows a fit reads at most (evenly spaced over the training part) and weights it fits at most:
#: keeps the normal equations at a few hundred megabytes and seconds.
MAX_WINDOWS = 20_000
MAX_WEIGHTS = 2_000
#: Ridge term relative to the mean diagonal of the normal equations: only numerical safety,
#: for the lags of a smooth series are nearly collinear.
RIDGE = 1e-6


@dataclass(frozen=True)
class LinearStart:
    """A linear map from the flattened centred window to the flattened forecast changes."""

    name: str  # a rule's name, "least_squares_targets" or "least_squares_all_columns"
    kernel: np.ndarray  # (lookback * columns, horizon * targets), float32
    validation_mae: float  # standardized, on the validation windows of this lookback

    def describe(self) -> str:
        return f"{self.name} (validation MAE {self.validation_mae:.4f} standardized)"


def choose_linear_start(data, lookback: int, rule) -> LinearStart:
    """The rule's map or a least-squares fit, whichever has the lower validation MAE."""
    columns, k = len(data.columns), data.num_targets
    x_train, y_train = centred_windows(data, "train", lookback, MAX_WINDOWS)
    x_val, y_val = centred_windows(data, "val", lookback, None)
    rule_kernel = rule.linear_kernel(lookback, data.horizon, k, columns)
    candidates = [LinearStart(rule.name, rule_kernel, _mae(x_val, y_val, rule_kernel))]
    for name, used in _fitted_weights(data, lookback).items():
        weights = int(used.sum())
        if weights > MAX_WEIGHTS or len(x_train) < MIN_WINDOWS_PER_WEIGHT * weights or not len(x_val):
            continue
        kernel = np.zeros_like(rule_kernel)
        kernel[used] = least_squares(x_train[:, used], y_train)
        candidates.append(LinearStart(name, kernel, _mae(x_val, y_val, kernel)))
    return min(candidates, key=lambda c: c.validation_mae)


def refit_linear_start(data, lookback: int, start: LinearStart) -> LinearStart:
    """`start` fitted again on `data`'s training windows when it is a least-squares fit (a rule's map
    fits nothing): a backtest's model must not have seen the windows it is judged on."""
    used = _fitted_weights(data, lookback).get(start.name)
    if used is None:
        return start
    x_train, y_train = centred_windows(data, "train", lookback, MAX_WINDOWS)
    kernel = np.zeros_like(start.kernel)
    kernel[used] = least_squares(x_train[:, used], y_train)
    return LinearStart(start.name, kernel, float("nan"))


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
    return float(np.mean(np.abs(x @ kernel.astype(np.float64) - y)))
