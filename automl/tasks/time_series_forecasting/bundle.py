"""Forecasts from an export bundle alone: metadata.json + a .tflite on LiteRT.

What a phone does, in numpy: take the last `lookback` steps of history, add
the calendar columns, and run the model through the bundle's preprocessor
(which scales with the stored mean and deviation and scales the forecast
back). No TensorFlow, no training data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.bundle_reader import BundleReader
from automl.errors import DataError
from automl.tasks.time_series_forecasting.data import calendar_columns, numbers, read_csv_columns
from automl.tasks.time_series_forecasting.panel import split_long, split_wide
from automl.tasks.time_series_forecasting.timestamps import Frequency, check_order, grid_positions, grid_times, parse_times


class BundleForecaster:
    """Forecasts the steps after a history CSV with a run's exported model.

    Args:
        export_dir: the run's export folder (metadata.json and the .tflite).
        model_path: the .tflite file to run.
    """

    def __init__(self, export_dir: Path, metadata: dict, model_path: Path):
        from automl.preprocessing import load_preprocessor
        from automl.verify import LiteRTModel

        self.export_dir, self.meta = Path(export_dir), metadata
        self.model = LiteRTModel(model_path)
        self.preprocessor = load_preprocessor(export_dir)
        frequency = metadata["frequency"]
        self.frequency = Frequency(seconds=frequency["seconds"], months=frequency["months"])

    def forecast_csv(self, path: Path) -> list[dict]:
        """One row per forecast step: its time and a value per target (and, for a model of many
        series, the series' id: a history of several ids gets each forecast)."""
        columns = read_csv_columns(Path(path))
        series = self.meta.get("series")
        if not series:
            return self.forecast(columns, str(path))
        if series["id_column"]:
            if series["id_column"] not in columns:
                raise DataError(f"{path}: the model forecasts many series by their {series['id_column']!r} column, "
                                f"which the file lacks. Columns: {list(columns)}")
            each = split_long(columns, series["id_column"])
            key = series["id_column"]
        else:  # wide: every value column is a series of its own
            time_column = self.meta["input"]["time_column"]
            names = [n for n in columns if n != time_column]
            each, key = split_wide(columns, time_column, names, self.meta["output"]["targets"][0]), "series"
        rows = []
        for series_id, history in each:
            rows += [{key: series_id, **row} for row in self.forecast(history, f"{path}: series {series_id!r}")]
        return rows

    def forecast(self, columns: dict, source: str = "<history>") -> list[dict]:
        meta_in = self.meta["input"]
        lookback, horizon = self.meta["lookback"], self.meta["horizon"]
        time_column = meta_in["time_column"]
        missing = [c for c in [time_column, *meta_in["value_columns"]] if c not in columns]
        if missing:
            raise DataError(f"{source}: the model needs columns {missing}. Columns: {list(columns)}")
        times = parse_times(columns[time_column], f"{source}: column {time_column!r}", meta_in.get("time_format"))
        check_order(times, source)
        times = times[-lookback:]
        positions = grid_positions(times, self.frequency, source)
        if len(times) < lookback or positions[-1] - positions[0] != lookback - 1:
            raise DataError(f"{source}: the model needs the last {lookback} consecutive {self.frequency.name} "
                            f"steps; the file's last {len(times)} rows span {int(positions[-1]) + 1} steps")
        values = np.stack([_filled(numbers(columns[name][-lookback:], source, name), source, name)
                           for name in meta_in["value_columns"]], axis=1)
        features = list(dict.fromkeys(n.rsplit("_", 1)[0] for n in meta_in["calendar_features"]))
        _, calendar = calendar_columns(times, features)
        window = np.concatenate([values, calendar], axis=1)
        forecast = self.preprocessor.run(self.model.predict, window[None])[0]
        meta_out = self.meta["output"]
        future = grid_times(times[-1], horizon + 1, self.frequency)[1:]
        return [{"time": str(t), **{name: float(v) for name, v in zip(meta_out["targets"], row)}}
                for t, row in zip(future, forecast)]


def _filled(values: np.ndarray, source: str, name: str) -> np.ndarray:
    """Interpolates gaps inside the history window (as training did by default)."""
    known = np.isfinite(values)
    if not known.any():
        raise DataError(f"{source}: column {name!r} has no values in the last {len(values)} rows")
    index = np.arange(len(values))
    return np.where(known, values, np.interp(index, index[known], values[known]))


class ForecastReader(BundleReader):
    """`automl predict` on a forecaster's bundle: the steps after each history CSV given."""

    def rows(self, export_dir, metadata, model_path, inputs, options):
        from automl.predict import rows_for_each

        return rows_for_each(inputs, BundleForecaster(export_dir, metadata, model_path).forecast_csv)
