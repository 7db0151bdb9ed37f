"""Forecast errors in the data's own units: MAE, RMSE, sMAPE and MASE, overall and per step."""

from __future__ import annotations

import numpy as np


def forecast_metrics(actual: np.ndarray, forecast: np.ndarray, mase_scale: np.ndarray,
                     target_names: list[str] | None = None) -> dict:
    """Metrics of forecasts shaped (windows, horizon, targets), in raw units.

    MASE divides each target's absolute errors by `mase_scale` (its mean absolute
    seasonal difference on the training part); sMAPE is in percent (0-200).
    """
    actual = np.asarray(actual, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    if actual.shape != forecast.shape:
        raise ValueError(f"forecasts and actuals differ in shape. Received: {forecast.shape} and {actual.shape}")
    error = np.abs(forecast - actual)
    denom = np.abs(actual) + np.abs(forecast)
    smape = np.divide(2 * error, denom, out=np.zeros_like(error), where=denom > 0) * 100
    scaled = error / np.asarray(mase_scale, dtype=np.float64)
    out = _summary(error, smape, scaled, axis=(0, 1, 2))
    per_step = _summary(error, smape, scaled, axis=(0, 2))
    out["per_step"] = {k: [round(float(v), 6) for v in values] for k, values in per_step.items()}
    if target_names and len(target_names) > 1:
        per_target = _summary(error, smape, scaled, axis=(0, 1))
        out["per_target"] = {name: {k: float(v[i]) for k, v in per_target.items()}
                             for i, name in enumerate(target_names)}
    out["windows"] = int(actual.shape[0])
    return out


def _summary(error, smape, scaled, axis) -> dict:
    mean = lambda a: np.mean(a, axis=axis)  # noqa: E731
    return {"mae": _plain(mean(error)), "rmse": _plain(np.sqrt(mean(error ** 2))),
            "smape": _plain(mean(smape)), "mase": _plain(mean(scaled))}


def _plain(value):
    return float(value) if np.ndim(value) == 0 else np.asarray(value)


def panel_metrics(actual: np.ndarray, forecast: np.ndarray, series: np.ndarray, series_scale: np.ndarray,
                  ids: list[str], target_names: list[str] | None = None) -> dict:
    """Metrics of many series' forecasts: MAE, RMSE and sMAPE over every window; MASE per series (each
    by its own training scale) and, as M4 scores it, their mean over the series (each series counts
    once, however many windows it has); `per_series` gives each series' MAE, MASE and windows.

    Args:
        series: (windows,) the index in `ids` of each window's series.
        series_scale: (series, targets) each series' MASE denominator.
    """
    series = np.asarray(series)
    out = forecast_metrics(actual, forecast, series_scale[series][:, None, :], target_names)
    per_series = {}
    for index in np.unique(series):
        picked = series == index
        one = forecast_metrics(actual[picked], forecast[picked], series_scale[index])
        per_series[ids[index]] = {"mae": one["mae"], "mase": one["mase"], "windows": one["windows"]}
    out["mase"] = float(np.mean([m["mase"] for m in per_series.values()]))
    out["per_series"] = per_series
    out["series"] = len(per_series)
    return out
