"""The forecaster's linear map starts as a least-squares fit where the data supports one, else as the
best baseline rule; judged on validation, checked here on the test windows no choice has seen."""

import numpy as np
import pytest

from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.tasks.time_series_forecasting.data import load_series_data
from automl.tasks.time_series_forecasting.baselines import Rule
from automl.tasks.time_series_forecasting.backtests import cut_earlier
from automl.tasks.time_series_forecasting.linear_start import (MIN_WINDOWS_PER_WEIGHT, centred_windows, error_map,
                                                               raw_window_errors, refit_linear_start)
from automl.tasks.time_series_forecasting.task import Forecasting
from tests.conftest import AIR_PASSENGERS, SEATTLE_TEMPS, TAYLOR, _package_file, pmdarima_series
from tests.helpers import air_forecaster_with_random_correction


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
    # The first trial's lookback has room for a day of the drift rule's errors, whose fit forecasts validation best.
    profile = task.profile(data)["linear_start"]
    assert profile["lookback"] == 25 + 48 and profile["start"].startswith("seasonal_naive_drift+last_48_errors")


@pytest.mark.parametrize("rule", [Rule("naive"), Rule("seasonal_naive_drift", 7, "r", seasons_averaged=2, level_steps=3)])
def test_the_error_map_gives_the_rules_one_step_errors_on_a_centred_window(rule):
    # Two targets and a covariate, interleaved as a flattened window is; centring must not matter.
    rng = np.random.default_rng(0)
    lookback, lags, columns = 40, 9, 3
    window = rng.normal(size=(lookback, columns)).cumsum(axis=0)
    centred = window - np.r_[window[-1, :2], 0.0]
    errors = centred.reshape(-1) @ error_map(rule, lookback, lags, columns, 2)
    steps = lookback - np.arange(1, lags + 1)
    expected = window[steps, :2] - rule.forecast(window[:, :2], steps, 1)[:, 0]
    np.testing.assert_allclose(errors.reshape(lags, 2), expected, atol=1e-9)


def test_the_half_hourly_load_starts_from_its_rule_plus_a_fit_on_the_rules_last_errors(tmp_path):
    # Where the weekly rule errs now it errs in the next hours: a day of its one-step errors, fitted on
    # the training windows, forecasts the 558 test windows (chosen on validation alone) far better.
    path = pmdarima_series(TAYLOR, "2000-06-05T00:00", "30m", tmp_path / "taylor.csv")
    data = load_series_data(DataConfig(path=str(path), horizon=48, transform="none", split={"val": 0.15, "test": 0.15}))
    task = Forecasting()
    lookback = task.default_lookback(data)
    rule = task.starting_rule(data, lookback)
    start = task.linear_start(data, lookback)
    # (The rule, or its smoothed form: older weeks weighed less, see test_a_smoothed_rule_...)
    assert start.name.startswith(rule.name) and start.name.endswith("+last_48_errors")
    assert lookback == rule.history + 48
    assert start.validation_mae < task.linear_start(data, rule.history).validation_mae
    rule_kernel = rule.linear_kernel(lookback, 48, 1, 1)
    assert (raw_window_errors(data, ("test",), lookback, start.kernel).mean()
            < 0.95 * raw_window_errors(data, ("test",), lookback, rule_kernel).mean())
    # A backtest fits the errors again on its own training part.
    refit = refit_linear_start(cut_earlier(data, 1), lookback, start)
    assert refit.name == start.name and not np.allclose(refit.kernel, start.kernel)


def test_a_short_series_keeps_the_rule(tmp_path):
    # 144 months: about 80 training windows for 24 lags would fit the noise of a few windows.
    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv")
    data = load_series_data(DataConfig(path=str(path)))
    task = Forecasting()
    x, _ = centred_windows(data, "train", 24, None)
    assert len(x) < MIN_WINDOWS_PER_WEIGHT * 24
    assert task.linear_start(data, 24).name == task.starting_rule(data, 24).name == "seasonal_naive_drift"


def test_a_correction_that_hurts_on_validation_is_not_shipped_and_the_file_is_the_rule(tmp_path):
    """A network correction that makes validation forecasts worse is scaled away: the model chosen
    for export forecasts exactly the linear map's rule (air passengers: seasonal naive with drift)."""
    config, task, data, hp, model = air_forecaster_with_random_correction(tmp_path, spread=0.05)

    chosen, inference = task.inference.choose(model, data, hp, config)
    assert inference["correction_share"] == 0.0 and inference["rule"] == "seasonal_naive_drift"
    assert inference["validation_mae"]["0.0"] < inference["validation_mae"]["1.0"]
    x, _ = task.eval_arrays(data, "test", hp)
    rule = task.linear_start(data, 24).kernel
    centred = x[..., :1] - x[:, -1:, :1]
    expected = (centred.reshape(len(x), -1) @ rule).reshape(len(x), 12, 1) + x[:, -1:, :1]
    np.testing.assert_allclose(chosen.predict(x, verbose=0), expected, atol=1e-4)
    assert model.get_layer("head").get_weights()[0].std() > 0.01  # the trained model itself is left as it was


def test_a_share_of_the_correction_is_shipped_only_on_evidence_from_enough_windows():
    from automl.tasks.time_series_forecasting.blend import choose_share

    rng = np.random.default_rng(0)
    rule = rng.uniform(0.2, 0.4, 300)
    # A steady gain on many windows: the whole correction.
    steady = {1.0: rule - 0.02 + rng.normal(0, 0.01, 300), 0.5: rule - 0.01, 0.0: rule}
    assert choose_share(steady, independent=30)[0] == 1.0
    # The same mean gain, but erratic and on a horizon's worth of windows: the rule.
    erratic = {1.0: rule[:10] - 0.02 + rng.normal(0, 0.1, 10), 0.0: rule[:10]}
    best, gains = choose_share(erratic, independent=1)
    assert best == 0.0 and gains[1.0] < 1
    # Half the correction clears the bar where the whole does not: the half.
    noise = rng.normal(0, 0.05, 10)
    mixed = {1.0: rule[:10] - 0.03 + 2 * noise, 0.5: rule[:10] - 0.02 + 0.2 * noise, 0.0: rule[:10]}
    assert choose_share(mixed, independent=1)[0] == 0.5


def test_a_smoothed_rule_replaces_its_rule_only_on_clear_evidence():
    # The euro area's electrical equipment index: the drift of four years' same months, added in full,
    # overshoots; four fifths of it, older years weighed less, forecasts the 160 training and validation
    # windows 5.7% better (0.8 standard errors of the gain), and the test windows, which nothing chose by, too.
    elec = _package_file("statsmodels", "statsmodels/datasets/elec_equip/elec_equip.csv")
    data = load_series_data(DataConfig(path=str(elec), horizon=12))
    task = Forecasting()
    lookback = task.rule_lookback(data)
    rule, start = task.starting_rule(data, lookback), task.linear_start(data, lookback)
    assert start.name.startswith(f"{rule.name}_") and start.name.endswith("_drift_share0.8")
    smoothed, plain = (raw_window_errors(data, ("test",), lookback, kernel).mean()
                       for kernel in (start.kernel, rule.linear_kernel(lookback, 12, 1, 1)))
    assert smoothed < 0.95 * plain
    # Air passengers' best smoothing gains nothing clear: the rule stays (test_a_short_series_keeps_the_rule).
