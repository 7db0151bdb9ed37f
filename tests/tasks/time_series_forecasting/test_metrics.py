"""Forecast metrics and the baselines, on CO2 where the issue gives reference figures."""

import keras
import numpy as np
import pytest

from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.tasks.time_series_forecasting.metrics import forecast_metrics
from automl.tasks import get_task
from tests.conftest import CO2


def test_metrics_by_hand():
    actual = np.array([[[10.0], [20.0]]])
    forecast = np.array([[[12.0], [20.0]]])
    m = forecast_metrics(actual, forecast, np.array([4.0]))
    assert m["mae"] == pytest.approx(1.0) and m["rmse"] == pytest.approx(np.sqrt(2.0))
    assert m["mase"] == pytest.approx(0.25)
    assert m["smape"] == pytest.approx(100 * (2 * 2 / 22) / 2)
    assert m["per_step"]["mae"] == [2.0, 0.0]


@pytest.fixture(scope="module")
def co2():
    """The forecasting task with CO2 loaded as the issue states it: weekly, horizon 52, 70/15/15."""
    if CO2 is None:
        pytest.skip("needs pip install --no-deps statsmodels")
    task = get_task("time_series_forecasting")
    config = type("Config", (), {"data": DataConfig(path=str(CO2), time_column="date", horizon=52, season=52,
                                                    split={"val": 0.15, "test": 0.15}), "seed": 0})()
    return task, task.load_data(config)


def test_co2_baselines_match_the_reference_figures(co2):
    task, data = co2
    baselines = task.baselines(data, None)["test"]
    assert baselines["seasonal_naive"]["mase"] == pytest.approx(1.38, abs=0.01)
    assert baselines["seasonal_naive_drift"]["mase"] == pytest.approx(0.68, abs=0.01)
    assert set(baselines["naive"]) >= {"mae", "rmse", "smape", "mase", "per_step"}
    # Scaled targets turn back into the file's values, and a perfect forecast scores zero.
    _, y = task.eval_arrays(data, "test")
    first = task.examples.sample(data, "test", 1, 0)  # the first test origin
    np.testing.assert_allclose(task.to_raw(y, data)[0, :, 0], data.values[first[0]:first[0] + 52, 0], rtol=1e-6)
    assert task.evaluate(y, y, data)["mae"] == pytest.approx(0.0, abs=1e-4)
    # One standard deviation of error is reported as that many ppm, not as 1.
    assert task.evaluate(y, y + 1.0, data)["mae"] == pytest.approx(data.std[0], rel=1e-5)
    # A task keeps no state of its own: a fresh one (a tuner worker, a resumed stage) scores alike.
    assert type(task)().evaluate(y, y + 1.0, data) == task.evaluate(y, y + 1.0, data)


def test_the_linear_map_starts_as_its_chosen_start(co2):
    """The forecast head's linear part, as initialized, reproduces its start exactly: a drift rule
    where a least-squares fit has too few windows per weight (156 lags: two years averaged, the drift
    over the last four weeks), the fit where it beats the rule on validation (104 lags)."""
    import keras_tuner

    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel

    task, data = co2
    assert task.starting_rule(data, 156).name == "seasonal_naive_drift_avg2_level4"
    assert task.starting_rule(data, 52).name == "seasonal_naive"  # drift needs 53 steps of past
    assert task.linear_start(data, 156).name == "seasonal_naive_drift_avg2_level4"
    assert task.linear_start(data, 104).name == "least_squares_targets"
    for lookback in (156, 104):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("lookback", lookback)
        model = TaskHyperModel(get_family("tcn"), task, data).build(hp)
        linear_only = keras.Model(model.inputs, model.get_layer("linear_changes").output)
        x, y = task.eval_arrays(data, "test", hp)
        changes = linear_only.predict(x, verbose=0)
        assert changes.shape == (len(x), 52, 1)
        centred = x.copy()
        centred[..., :1] -= x[:, -1:, :1]
        expected = centred.reshape(len(x), -1) @ task.linear_start(data, lookback).kernel
        np.testing.assert_allclose(changes.reshape(len(x), -1), expected, atol=1e-4)
    hp156 = keras_tuner.HyperParameters()
    hp156.Fixed("lookback", 156)
    # The map forecasts as the rule computed on the raw series does (the report's baseline row).
    rule_mae = task.baselines(data, hp156)["test"]["seasonal_naive_drift_avg2_level4"]["mae"]
    x, y = task.eval_arrays(data, "test", hp156)
    rule = task.linear_start(data, 156).kernel
    centred = x.copy()
    centred[..., :1] -= x[:, -1:, :1]
    forecast = x[:, -1:, :1] + (centred.reshape(len(x), -1) @ rule).reshape(len(x), 52, 1)
    assert task.evaluate(y, forecast, data)["mae"] == pytest.approx(rule_mae, rel=1e-4)
