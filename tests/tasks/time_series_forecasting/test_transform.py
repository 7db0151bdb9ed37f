"""Logs of the targets: chosen on backtests of the rule only with clear evidence, applied and
inverted inside the model, so the exported file takes and returns values as every forecaster."""

import numpy as np
import pytest

from automl.config.loader import config_from_mapping
from automl.errors import DataError
from automl.tasks.time_series_forecasting.task import Forecasting
from tests.conftest import AIR_PASSENGERS, pmdarima_series


def _load(path, **data):
    return Forecasting().load_data(config_from_mapping({"task": "time_series_forecasting",
                                                        "data": {"path": str(path), "horizon": 12, **data}}))


def test_logs_are_kept_only_when_the_rules_backtests_gain_clearly(tmp_path):
    # Air passengers: the seasonal swing grows with the level, yet the drift rule on logs gains
    # only 0.14 standard errors over its 84 backtest windows: not enough to change every forecast.
    air = _load(pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv"))
    assert air.transform["log"] is False and air.transform["windows"] == 84
    assert abs(air.transform["gain_in_standard_errors"]) < 2 and not air.log_targets
    # A series that compounds: 4% a month with a swing of +-40% around the level. Its drift on
    # values adds last year's change to a season that has grown since; on logs it is exact.
    steps = np.arange(150)
    noise = np.random.default_rng(0).normal(0, 0.01, len(steps))
    values = 100 * np.exp(0.04 * steps) * (1 + 0.4 * np.sin(2 * np.pi * steps / 12)) * np.exp(noise)
    times = np.datetime64("2000-01", "M") + steps
    path = tmp_path / "compound.csv"
    path.write_text("month,sales\n" + "".join(f"{t},{v:.3f}\n" for t, v in zip(times, values)))
    compound = _load(path)
    assert compound.transform["log"] is True and compound.transform["gain_in_standard_errors"] > 2
    assert compound.transform["mae"]["log"] < 0.5 * compound.transform["mae"]["plain"]
    assert "forecasts logs" in Forecasting().report_view.describe_profile(Forecasting().profile(compound))
    # Zero or below: no logs; asked for anyway: an error naming the value.
    path.write_text("month,sales\n" + "".join(f"{t},{v - 200:.3f}\n" for t, v in zip(times, values)))
    assert _load(path).transform["log"] is False
    with pytest.raises(DataError, match=r"data.transform is 'log' but a target value is -\d+"):
        _load(path, transform="log")


def test_a_model_on_logs_starts_as_the_multiplicative_rule_and_its_file_computes_the_same(tmp_path):
    """Zero correction: the model forecasts exp(the rule on the logs) in the data's units; the float32
    file (log and inverse inside it) reproduces the Keras forecasts."""
    import keras
    import keras_tuner

    from automl.convert import convert_tflite, export_saved_model
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.verify import LiteRTModel

    task = Forecasting()
    data = _load(pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv"), transform="log")
    assert data.log_targets and data.transform["chosen_by"] == "data.transform"
    hp = keras_tuner.HyperParameters()
    hp.Fixed("lookback", 24)
    keras.utils.set_random_seed(0)
    model = TaskHyperModel(get_family("tcn"), task, data).build(hp)
    x, y = task.eval_arrays(data, "test", hp)
    raw = x[..., 0] * data.std[0] + data.mean[0]
    logs = np.log(raw)
    kernel = task.linear_start(data, 24).kernel
    assert task.linear_start(data, 24).name == "seasonal_naive_drift"
    expected_logs = logs[:, -1:] + (logs - logs[:, -1:]) @ kernel  # the rule, in log units (its kernel is linear)
    forecast = task.to_raw(model.predict(x, verbose=0), data)[..., 0]
    np.testing.assert_allclose(forecast, np.exp(expected_logs), rtol=1e-4)
    # Drift on logs is multiplicative: next year's season is this year's times this year's growth.
    np.testing.assert_allclose(forecast[:, 0], raw[:, -12] * raw[:, -1] / raw[:, -13], rtol=1e-4)

    head = model.get_layer("head")  # some correction, so the file has more than the rule to get right
    head.set_weights([np.random.default_rng(0).normal(0, 0.02, w.shape).astype(np.float32) for w in head.get_weights()])
    export_saved_model(model, tmp_path / "saved", "forecast")
    path = tmp_path / "model.tflite"
    path.write_bytes(convert_tflite(tmp_path / "saved", "float32", None, False))
    keras_forecast = model.predict(x, verbose=0)
    litert = LiteRTModel(path).predict(x)
    relative = np.abs(task.to_raw(litert, data) - task.to_raw(keras_forecast, data)) / task.to_raw(keras_forecast, data)
    assert relative.max() <= 1e-3
