"""Seasons found from the data: a half-hourly load with a day and a week, hourly temperatures with a
day only, a monthly series of 144 points with default settings, and series too short to split."""

import numpy as np
import pytest

from automl.errors import DataError
from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.tasks.time_series_forecasting.data import load_series_data
from automl.tasks.time_series_forecasting.seasons import candidate_periods
from automl.tasks.time_series_forecasting.task import Forecasting
from automl.tasks.time_series_forecasting.timestamps import Frequency
from tests.conftest import AIR_PASSENGERS, SEATTLE_TEMPS, TAYLOR, pmdarima_series


@pytest.mark.parametrize("frequency, expected", [
    (Frequency(seconds=1800), [(48, "daily"), (336, "weekly"), (17532, "yearly")]),
    (Frequency(seconds=3600), [(24, "daily"), (168, "weekly"), (8766, "yearly")]),
    (Frequency(seconds=86400), [(7, "weekly"), (365, "yearly")]),
    (Frequency(seconds=7 * 86400), [(52, "yearly")]),
    (Frequency(months=1), [(12, "yearly")]),
    (Frequency(months=3), [(4, "yearly")]),
    (Frequency(seconds=7 * 3600), [(24, "weekly"), (1252, "yearly")]),  # a day is not a whole number of steps
])
def test_candidate_periods_come_from_the_calendar(frequency, expected):
    assert candidate_periods(frequency) == expected


def test_a_half_hourly_load_has_a_daily_and_a_weekly_season(tmp_path):
    path = pmdarima_series(TAYLOR, "2000-06-05T00:00", "30m", tmp_path / "taylor.csv")
    data = load_series_data(DataConfig(path=str(path)))
    assert data.seasons == [48, 336], data.season_source
    assert data.horizon == 48  # auto: the shortest season
    task = Forecasting()
    lookbacks = task.lookbacks(data)
    assert max(lookbacks) >= 337  # the weekly drift rule fits in the longest window
    baselines = task.baselines(data, None)["test"]
    assert {"seasonal_naive", "seasonal_naive_336", "seasonal_naive_drift_336"} <= set(baselines)
    # The week matters here: last week's same half-hour beats yesterday's.
    assert baselines["seasonal_naive_336"]["mae"] < baselines["seasonal_naive"]["mae"]
    assert task.starting_rule(data, max(lookbacks)).season == 336


@pytest.mark.skipif(SEATTLE_TEMPS is None, reason="needs pip install --no-deps vega_datasets")
def test_hourly_temperatures_have_a_day_but_no_week():
    data = load_series_data(DataConfig(path=str(SEATTLE_TEMPS)))
    assert data.seasons == [24]
    assert "no weekly cycle beyond the 24-step one" in data.season_source


@pytest.mark.skipif(SEATTLE_TEMPS is None, reason="needs pip install --no-deps vega_datasets")
def test_a_calendar_cycle_the_training_part_sees_once_is_left_out_with_a_note():
    # One year of hourly temperatures: the time of day repeats about 290 times in the training part, the
    # day of the year never does, so the validation and test months would ask the model to extrapolate.
    data = load_series_data(DataConfig(path=str(SEATTLE_TEMPS), calendar_features=["hour_of_day", "day_of_year"]))
    assert data.calendar == ["hour_of_day_sin", "hour_of_day_cos"]
    assert data.values.shape[1] == 1 + 2
    assert "day_of_year (the training part spans 0.8 of its 365.25-day cycles)" in data.calendar_note
    assert "day_of_year" in Forecasting().report_view.describe_profile(Forecasting().profile(data))
    kept = load_series_data(DataConfig(path=str(SEATTLE_TEMPS), calendar_features=["hour_of_day"]))
    assert kept.calendar_note is None and kept.calendar == data.calendar


def test_a_monthly_series_of_144_points_splits_with_defaults(tmp_path):
    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv")
    data = load_series_data(DataConfig(path=str(path)))
    assert data.seasons == [12] and data.horizon == 12
    sizes = data.split_sizes()
    assert sizes["val"] >= 12 and sizes["test"] >= 12 and sum(sizes.values()) == 144
    task = Forecasting()
    assert task.profile(data)["windows"]["test"] >= 1


def test_the_test_and_validation_parts_grow_to_one_horizon(tmp_path):
    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv")
    data = load_series_data(DataConfig(path=str(path), horizon=24, split={"val": 0.1, "test": 0.1}))
    assert data.split_sizes() == {"train": 96, "val": 24, "test": 24}


def test_a_series_too_short_for_its_horizon_names_the_minimum_length(tmp_path):
    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv")
    lines = path.read_text().splitlines()[:41]  # 40 months
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"40 steps are too few for data.horizon=12: the series needs at least 60"):
        load_series_data(DataConfig(path=str(path), season=12))


def test_a_listed_season_is_used_as_given(tmp_path):
    path = pmdarima_series(TAYLOR, "2000-06-05T00:00", "30m", tmp_path / "taylor.csv")
    data = load_series_data(DataConfig(path=str(path), season=[336, 48], horizon=24))
    assert data.seasons == [48, 336] and data.season_source == "data.season"
    assert np.isfinite(data.mase_scale).all()


def test_a_monthly_series_of_144_points_forecasts_a_year_ahead_with_defaults(tmp_path):
    """Nothing but the file and the task: before, the default split refused it ("needs validation and
    test parts of at least 24 steps; they have 15")."""
    import json

    import automl

    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", tmp_path / "air.csv")
    result = automl.fit(str(path), task="time_series_forecasting", output=str(tmp_path / "run"),
                        search={"max_trials": 2}, export={"quantizations": ["float32"]})
    report = json.loads((result.out_dir / "report.json").read_text())
    assert report["status"] == "succeeded"
    assert report["dataset"]["horizon"] == 12 and report["dataset"]["seasons"] == [12]
    assert len(report["test_metrics"]["per_step"]["mae"]) == 12
    assert report["dataset"]["windows"]["test"] >= 1
    assert {"naive", "seasonal_naive", "seasonal_naive_drift"} <= set(report["baselines"])
    assert (result.out_dir / "export" / "model_float32.tflite").exists()
