"""Timestamps: formats, order, frequency and the regular grid."""

import numpy as np
import pytest

from automl.errors import DataError
from automl.tasks.time_series_forecasting.timestamps import Frequency, check_order, grid_positions, infer_frequency, parse_times


def test_formats_of_the_shipped_data_sets_are_recognized():
    assert parse_times(["19580329"], "co2")[0] == np.datetime64("1958-03-29")
    assert parse_times(["2010/01/01 13:00"], "temps")[0] == np.datetime64("2010-01-01T13:00")
    assert parse_times(["2012-01-31"], "weather")[0] == np.datetime64("2012-01-31")


@pytest.mark.parametrize("texts, expected", [
    (["Jan-1-1995", "Feb-1-1995"], ["1995-01-01", "1995-02-01"]),  # statsmodels' elec_equip
    (["01/02/2020", "01/03/2020", "13/03/2020"], ["2020-02-01", "2020-03-01", "2020-03-13"]),  # a 13th: day first
    (["01/02/2020", "02/02/2020"], ["2020-01-02", "2020-02-02"]),  # either order reads: month first
    (["31.01.2020 08:00", "01.02.2020 08:00"], ["2020-01-31T08:00", "2020-02-01T08:00"]),
    (["1995Q1", "1995-Q2", "Q3 1995"], ["1995-01-01", "1995-04-01", "1995-07-01"]),
    (["1995M11", "1995M12"], ["1995-11-01", "1995-12-01"]),
    (["2020-01-01T10:00:00+02:00", "2020-01-01T09:00:00Z"], ["2020-01-01T08:00", "2020-01-01T09:00"]),
    (["2019-01-01 00:00:00.000", "2019-01-01 00:30:00.000"], ["2019-01-01T00:00", "2019-01-01T00:30"]),
])
def test_dates_as_people_write_them_are_read(texts, expected):
    np.testing.assert_array_equal(parse_times(texts, "f"), np.array(expected, dtype="datetime64[s]"))


def test_a_row_in_another_format_is_named():
    with pytest.raises(DataError, match=r"row 2: '01/02/2012' does not match"):
        parse_times(["2012-01-01", "01/02/2012"], "f.csv: column 'date'")


def test_unsorted_times_name_both_rows():
    times = parse_times(["2020-01-01", "2020-01-03", "2020-01-02"], "f")
    with pytest.raises(DataError, match=r"not in increasing order: row 3 .* comes after row 2"):
        check_order(times, "f.csv")


def test_duplicated_times_are_an_error():
    times = parse_times(["2020-01-01", "2020-01-02", "2020-01-02"], "f")
    with pytest.raises(DataError, match=r"rows 2 and 3 have the same time"):
        check_order(times, "f.csv")


def test_monthly_steps_of_28_to_31_days_are_one_frequency():
    times = parse_times(["2020-01-01", "2020-02-01", "2020-03-01", "2020-05-01"], "f")
    freq = infer_frequency(times, "f")
    assert freq == Frequency(months=1)
    assert grid_positions(times, freq, "f").tolist() == [0, 1, 2, 4]  # April is a gap


def test_a_time_between_grid_steps_is_an_error():
    times = parse_times(["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 02:00", "2020-01-01 02:30"], "f")
    with pytest.raises(DataError, match=r"row 4 .* is not on the hourly grid"):
        grid_positions(times, infer_frequency(times, "f"), "f.csv")
