"""Loading a real series: the statsmodels CO2 file, its gaps, and bad input."""

import numpy as np
import pytest

from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.errors import DataError
from automl.tasks.time_series_forecasting.data import load_series_data
from automl.tasks.time_series_forecasting.windows import origins
from tests.conftest import CO2

pytestmark = pytest.mark.skipif(CO2 is None, reason="needs pip install --no-deps statsmodels")


def co2_config(**changes) -> DataConfig:
    settings = {"path": str(CO2), "time_column": "date", "horizon": 52, "split": {"val": 0.15, "test": 0.15}}
    return DataConfig(**{**settings, **changes})


def test_co2_is_weekly_with_59_gaps_interpolated():
    data = load_series_data(co2_config())
    assert data.frequency.name == "weekly" and data.season == 52
    assert len(data.times) == 2284 and data.split_sizes() == {"train": 1599, "val": 342, "test": 343}
    assert data.missing["interpolated_values"] == 59
    assert np.isfinite(data.values).all()
    gap = np.flatnonzero(np.diff(data.times).astype(np.int64) != 7 * 86400)
    assert len(gap) == 0


def test_missing_policy_fail_names_the_first_gap():
    with pytest.raises(DataError, match=r"59 value\(s\) are missing \(first: 'co2' at 1958-05-10"):
        load_series_data(co2_config(missing="fail"))


def test_missing_policy_drop_leaves_out_windows_that_touch_a_gap():
    dropped = load_series_data(co2_config(missing="drop"))
    filled = load_series_data(co2_config())
    for part in ("train", "val", "test"):
        kept = origins(dropped, part, 104)
        assert len(kept) <= len(origins(filled, part, 104))
        for t in kept:
            assert np.isfinite(dropped.values[t - 104:t + 52]).all()
    assert len(origins(dropped, "train", 104)) < len(origins(filled, "train", 104))


def test_bad_input_is_named(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("when,value\n2020-01-01,1\n2020-01-02,abc\n2020-01-03,3\n")
    with pytest.raises(DataError, match=r"column 'value', row 2: 'abc' is not a number"):
        load_series_data(DataConfig(path=str(path), time_column="when", horizon=1))
    with pytest.raises(DataError, match=r"data.targets names 'temp', which is not a column. Columns: \['when', 'value'\]"):
        load_series_data(DataConfig(path=str(path), time_column="when", targets=["temp"]))
    counts = tmp_path / "counts.csv"
    counts.write_text("step,value\n1,5\n2,6\n3,7\n")  # increasing numbers are not years
    with pytest.raises(DataError, match=r"no time column found: no column is named time, .* set data.time_column"):
        load_series_data(DataConfig(path=str(counts)))


def test_a_yearly_series_with_an_integer_year_column_is_read_by_default():
    from tests.conftest import _package_file

    nile = _package_file("statsmodels", "statsmodels/datasets/nile/nile.csv")
    data = load_series_data(DataConfig(path=str(nile)))
    assert data.time_column == "year" and data.time_source == "the column named 'year'"
    assert data.frequency.name == "yearly" and str(data.times[0])[:4] == "1871" and data.targets == ["volume"]


def test_a_monthly_index_with_dates_written_jan_1_1995_under_an_upper_case_name_is_read_by_default():
    from tests.conftest import _package_file

    elec = _package_file("statsmodels", "statsmodels/datasets/elec_equip/elec_equip.csv")
    data = load_series_data(DataConfig(path=str(elec), horizon=12))
    assert data.time_column == "DATE" and data.frequency.name == "monthly" and len(data.times) == 257
    assert str(data.times[0])[:10] == "1995-01-01" and str(data.times[-1])[:7] == "2016-05"


def test_dates_under_any_name_are_found_by_their_values(tmp_path):
    path = tmp_path / "sales.csv"
    rows = "".join(f"{i % 7},2021-{1 + i // 28:02d}-{1 + i % 28:02d},{100 + i}\n" for i in range(84))
    path.write_text("store,fecha,sales\n" + rows)  # 'store' holds numbers, 'fecha' dates
    data = load_series_data(DataConfig(path=str(path), horizon=2))
    assert data.time_column == "fecha" and "increasing times ('fecha')" in data.time_source
    assert data.targets == ["store", "sales"]


def test_a_horizon_longer_than_the_held_out_parts_grows_them_or_is_refused():
    data = load_series_data(co2_config(horizon=400))
    assert data.split_sizes() == {"train": 1484, "val": 400, "test": 400}
    with pytest.raises(DataError, match=r"2284 steps are too few for data.horizon=600: the series needs at least "
                                        r"3000 \(3 horizons to train on, then 600 to validate and 600 to test\)"):
        load_series_data(co2_config(horizon=600))


def test_a_dict_of_columns_loads_like_the_file():
    import csv

    rows = list(csv.DictReader(CO2.open()))
    columns = {"date": [r["date"] for r in rows], "co2": [r["co2"] for r in rows]}
    data = load_series_data(co2_config(path="."), arrays=columns)
    assert np.allclose(data.values, load_series_data(co2_config()).values)
