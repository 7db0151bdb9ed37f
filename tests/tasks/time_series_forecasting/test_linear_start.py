"""The forecaster's linear map starts as a least-squares fit where the data supports one, else as the
best baseline rule; judged on validation, checked here on the test windows no choice has seen."""

import numpy as np
import pytest

from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.tasks.time_series_forecasting.data import load_series_data
from automl.tasks.time_series_forecasting.linear_start import MIN_WINDOWS_PER_WEIGHT, centred_windows
from automl.tasks.time_series_forecasting.task import Forecasting
from tests.conftest import AIR_PASSENGERS, SEATTLE_TEMPS, pmdarima_series


def _test_mae(data, lookback, kernel):
    x, y = centred_windows(data, "test", lookback, None)
    return float(np.mean(np.abs(x @ kernel.astype(np.float64) - y)))


@pytest.mark.skipif(SEATTLE_TEMPS is None, reason="needs pip install --no-deps vega_datasets")
def test_a_smooth_series_starts_from_a_least_squares_fit_that_beats_the_rule_on_test():
    # Hourly temperatures move by hundredths of a standard deviation from one day to the next: the
    # drift rule is good, a fit of the last two days is better, and no gradient step finds it.
    # As pipelines/seattle_temps.yaml reads it (the template's 70/15/15 split).
    data = load_series_data(DataConfig(path=str(SEATTLE_TEMPS), calendar_features=["hour_of_day"], horizon=24,
                                       split={"val": 0.15, "test": 0.15}))
    task = Forecasting()
    rule = task.starting_rule(data, 48)
    start = task.linear_start(data, 48)
    assert rule.name == "seasonal_naive_drift"
    # The covariates' hour-of-day pattern learned over January to September does not fit the late autumn.
    assert start.name == "least_squares_targets"
    rule_kernel = rule.linear_kernel(48, 24, 1, len(data.columns))
    assert _test_mae(data, 48, start.kernel) < 0.97 * _test_mae(data, 48, rule_kernel)
    assert start.kernel.shape == rule_kernel.shape and start.kernel.dtype == np.float32
    assert "least_squares_targets" in task.profile(data)["linear_start"]["start"]


def test_a_short_series_keeps_the_rule(tmp_path):
    # 144 months: about 80 training windows for 24 lags would fit the noise of a few windows.
    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv")
    data = load_series_data(DataConfig(path=str(path)))
    task = Forecasting()
    x, _ = centred_windows(data, "train", 24, None)
    assert len(x) < MIN_WINDOWS_PER_WEIGHT * 24
    assert task.linear_start(data, 24).name == task.starting_rule(data, 24).name == "seasonal_naive_drift"
