"""The bundle alone reproduces the model on several targets, covariates and calendar columns."""

import csv

import keras_tuner
import numpy as np
import pytest

from automl.config.loader import config_from_mapping
from automl.tasks.time_series_forecasting.data import calendar_columns
from automl.export import export_models
from automl.families import get_family
from automl.hypermodel import TaskHyperModel
from automl.predict import open_bundle
from automl.tasks.time_series_forecasting.bundle import BundleForecaster
from automl.tasks.time_series_forecasting.windows import origins
from automl.tasks import get_task
from tests.conftest import SEATTLE_WEATHER


def test_calendar_phases():
    times = np.array(["2010-01-01T06:00", "2010-01-04T00:00"], dtype="datetime64[s]")  # a Friday, a Monday
    names, values = calendar_columns(times, ["hour_of_day", "day_of_week"])
    assert names == ["hour_of_day_sin", "hour_of_day_cos", "day_of_week_sin", "day_of_week_cos"]
    np.testing.assert_allclose(values[0, :2], [1.0, 0.0], atol=1e-12)  # 6 h is a quarter of the day
    np.testing.assert_allclose(values[:, 2], np.sin(2 * np.pi * np.array([4, 0]) / 7), atol=1e-12)


@pytest.mark.skipif(SEATTLE_WEATHER is None, reason="needs pip install --no-deps vega_datasets")
def test_bundle_forecasts_equal_the_keras_model(tmp_path):
    rows = list(csv.DictReader(SEATTLE_WEATHER.open()))
    names = ("date", "temp_max", "temp_min", "precipitation", "wind")
    columns = {n: [r[n] for r in rows] for n in names}
    task = get_task("time_series_forecasting")
    config = config_from_mapping({
        "task": "time_series_forecasting",
        "data": {"path": str(tmp_path), "targets": ["temp_max", "temp_min"], "covariates": ["precipitation", "wind"],
                 "calendar_features": ["day_of_year", "day_of_week"], "horizon": 7},
        "export": {"formats": ["tflite"], "quantizations": ["float32"]}})
    data = task.load_data(config, arrays=columns)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("lookback", 16)
    model = TaskHyperModel(get_family("tcn"), task, data).build(hp)
    export_models(model, task, data, config, tmp_path / "run", hp, get_family("tcn"))

    origin = int(origins(data, "test", 16)[5])
    history = {n: v[:origin] for n, v in columns.items()}
    forecaster = BundleForecaster(*open_bundle(tmp_path / "run"))
    forecast = forecaster.forecast(history)
    x, _ = task.eval_arrays(data, "test", hp)
    expected = task.to_raw(model.predict(x[5:6], verbose=0), data)[0]
    got = np.array([[step["temp_max"], step["temp_min"]] for step in forecast])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert forecast[0]["time"].startswith(str(data.times[origin])[:10])
