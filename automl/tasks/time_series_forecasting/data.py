"""Time-series data: one regular series of target and covariate columns, or many.

The rows are read from a CSV (or a DataFrame / dict of columns from the
API), checked for order, placed on the regular grid of the inferred
frequency, and missing steps are handled by `data.missing`. The split is
chronological: the first rows train, the next validate, the last test.
Scaling (mean and standard deviation per column) is fitted on the
training rows only. Many series (`panel.py`: long format with an id column,
or wide with `data.wide`) are each placed on their own grid and split on
their own, then stacked; `segments` say where each lies.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Optional

import numpy as np

from automl.errors import DataError
from automl.data.text_files import read_text_file
from automl.tasks.time_series_forecasting.panel import Segment, find_id_column, split_long, split_wide
from automl.tasks.time_series_forecasting.seasons import find_seasons
from automl.tasks.time_series_forecasting.timestamps import Frequency, check_order, grid_positions, grid_times, infer_frequency, parse_times

TIME_COLUMN_NAMES = ("time", "timestamp", "date", "datetime", "ds", "period", "year", "month", "week", "day",
                     "quarter")

#: Calendar covariates: each adds a sine and a cosine column of its phase.
CALENDAR_PERIODS = {"hour_of_day": 24.0, "day_of_week": 7.0, "day_of_year": 365.25, "month_of_year": 12.0}
#: Each calendar cycle's length in days.
CALENDAR_CYCLE_DAYS = {"hour_of_day": 1.0, "day_of_week": 7.0, "day_of_year": 365.25, "month_of_year": 365.25}
#: A calendar feature is used when the training part covers at least this many of its cycles:
#: with one, every phase is seen once and the validation and test parts ask the model to extrapolate.
CALENDAR_MIN_CYCLES = 2.0


@dataclass
class SeriesData:
    """The series on its regular grid, split chronologically.

    Attributes:
        values: (steps, columns) raw values, targets first, then covariates and
            calendar columns; NaN where a step is missing and the policy is `drop`.
        boundaries: (end of train, end of validation) as step indices.
    """

    source: str
    times: np.ndarray
    values: np.ndarray
    targets: list[str]
    covariates: list[str]
    calendar: list[str]
    frequency: Frequency
    seasons: list[int]
    season_source: str
    horizon: int
    boundaries: tuple[int, int]
    missing_policy: str
    missing: dict = field(default_factory=dict)
    time_column: str = "time"
    time_format: Optional[str] = None
    #: How the time column was found (data.time_column, its name, its values), for the profile.
    time_source: str = "data.time_column"
    #: The requested calendar features left out, and why (None when all were kept).
    calendar_note: Optional[str] = None
    mean: np.ndarray = None
    std: np.ndarray = None
    #: What is computed from the series once and asked for often (the starting rule per lookback).
    derived: dict = field(default_factory=dict)
    #: The model forecasts the logs of the targets (`transform.choose_log`), standardized by the
    #: training part's log mean and std.
    log_targets: bool = False
    log_mean: np.ndarray = None
    log_std: np.ndarray = None
    #: What `transform.choose_log` compared, for the profile.
    transform: dict = field(default_factory=dict)
    #: Where each series lies in the stacked rows (one segment for one series).
    segments: list = field(default_factory=list)
    #: The column naming each row's series (long format); None for one series or a wide file.
    id_column: Optional[str] = None
    #: Series left out (too short for the horizon), for the profile; None when all were kept.
    series_note: Optional[str] = None

    @property
    def num_series(self) -> int:
        return len(self.segments)

    @property
    def many(self) -> bool:
        """Several series, one global model."""
        return len(self.segments) > 1

    def part_ranges(self, part: str) -> list[tuple[int, int]]:
        """[start, end) rows of a part in every series, in series order."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"Unknown split. Received: name={part!r}; expected train, val or test")
        return [segment.part_range(part) for segment in self.segments]

    @property
    def train_mask(self) -> np.ndarray:
        """True on the training rows of every series."""
        mask = np.zeros(len(self.values), dtype=bool)
        for start, end in self.part_ranges("train"):
            mask[start:end] = True
        return mask

    def series_of(self, rows: np.ndarray) -> np.ndarray:
        """The index (in `segments`) of the series each row belongs to."""
        starts = np.array([segment.start for segment in self.segments])
        return np.searchsorted(starts, np.asarray(rows), side="right") - 1

    @property
    def columns(self) -> list[str]:
        return self.targets + self.covariates + self.calendar

    @property
    def season(self) -> int:
        """The shortest kept season (1 when none): the horizon's default and MASE's lag."""
        return self.seasons[0]

    @property
    def num_targets(self) -> int:
        return len(self.targets)

    def part_range(self, part: str) -> tuple[int, int]:
        """[start, end) step indices of a part (one series; `part_ranges` for many)."""
        if self.many:
            raise ValueError("part_range is for one series: use part_ranges")
        train_end, val_end = self.boundaries
        ranges = {"train": (0, train_end), "val": (train_end, val_end), "test": (val_end, len(self.times))}
        if part not in ranges:
            raise ValueError(f"Unknown split. Received: name={part!r}; expected train, val or test")
        return ranges[part]

    def split_sizes(self) -> dict:
        return {part: int(sum(end - start for start, end in self.part_ranges(part))) for part in ("train", "val", "test")}

    def shortest_training_part(self) -> int:
        """Steps of the shortest series' training part (lookbacks must fit in every series)."""
        return int(min(end - start for start, end in self.part_ranges("train")))

    @cached_property
    def scaled(self) -> np.ndarray:
        """All columns standardized with the training part's mean and deviation."""
        return ((self.values - self.mean) / self.std).astype(np.float32)

    @property
    def inner(self) -> np.ndarray:
        """The series as the model's core sees it: `scaled`, with the targets' standardized logs
        when the model takes logs (`layers.LogLevels`)."""
        if not self.log_targets:
            return self.scaled
        key = ("inner", tuple(self.log_mean), tuple(self.log_std))
        if key not in self.derived:
            inner = self.scaled.copy()
            k = self.num_targets
            with np.errstate(invalid="ignore", divide="ignore"):
                inner[:, :k] = (np.log(self.values[:, :k]) - self.log_mean) / self.log_std
            self.derived[key] = inner.astype(np.float32)
        return self.derived[key]

    def inner_to_raw(self, targets: np.ndarray) -> np.ndarray:
        """Targets as the model's core forecasts them (`inner`) in the data's units."""
        k = self.num_targets
        targets = np.asarray(targets, dtype=np.float64)
        if self.log_targets:
            return np.exp(targets * self.log_std + self.log_mean)
        return targets * self.std[:k] + self.mean[:k]

    @cached_property
    def series_mase_scale(self) -> np.ndarray:
        """(series, targets): each series' mean absolute seasonal difference over its training part
        (MASE's denominator)."""
        scales = []
        for start, end in self.part_ranges("train"):
            train = self.values[start:end, : self.num_targets]
            lag = self.season if self.season < len(train) else 1
            scale = np.nanmean(np.abs(train[lag:] - train[:-lag]), axis=0)
            scales.append(np.where(np.isfinite(scale) & (scale > 0), scale, 1.0))
        return np.array(scales)

    def window_weights(self, origins: np.ndarray) -> np.ndarray:
        """Each window's weight with many series: its errors (in the table's standard deviations)
        divided by its series' MASE scale, so every series counts by its errors relative to its own
        size, as the mean MASE judges it, not by its size."""
        k = self.num_targets
        relative_scale = self.series_mase_scale[:, :k] / self.std[:k]  # (series, targets)
        return 1.0 / relative_scale.mean(axis=1)[self.series_of(origins)]

    @property
    def mase_scale(self) -> np.ndarray:
        """Per target: MASE's denominator of the one series (the first of many)."""
        return self.series_mase_scale[0]


def load_series_data(cfg, seed: int = 0, arrays=None) -> SeriesData:
    """Reads, checks and splits a series (or many) as `cfg` (the config's `data` section) says."""
    del seed  # the split is chronological
    if arrays is not None:
        source, columns = "<dataframe>", _columns_of(arrays)
    else:
        source = str(cfg.path)
        columns = read_csv_columns(Path(cfg.path), cfg.encoding)
    id_column = find_id_column(cfg.id_column, columns, source,
                               lambda values: _reads_as_times(values[:50], cfg.time_format))
    series = split_long(columns, id_column) if id_column is not None else [("", columns)]
    # In a long file times repeat from one series to the next: they increase within the first.
    time_column, time_source = _time_column(cfg, series[0][1], source)
    covariates = list(cfg.covariates)
    targets = _targets(cfg, series[0][1], time_column, covariates, source)
    if id_column is None and cfg.wide and len(targets) > 1:
        if covariates:
            raise DataError(f"{source}: data.wide reads every value column as a series of its own; covariates "
                            f"{covariates} would belong to none. Use the long format (an id column) for covariates")
        series, targets = split_wide(columns, time_column, targets, "value"), ["value"]
    names = targets + covariates
    placed = [(series_id, *_on_grid(rows, time_column, names, cfg, _where(source, series_id)))
              for series_id, rows in series]
    frequencies = {frequency for _, _, _, frequency, _ in placed}
    if len(frequencies) > 1:
        found = ", ".join(sorted({f.name for f in frequencies}))
        raise DataError(f"{source}: the series are not all at one frequency ({found}); one model forecasts "
                        f"steps of one length: keep the series of one frequency")
    frequency = frequencies.pop()
    longest = max(placed, key=lambda entry: len(entry[1]))
    steps = len(longest[1])
    train_end, _ = _boundaries(steps, cfg.split.val, cfg.split.test, _where(source, longest[0]))
    seasons, season_source = find_seasons(cfg.season, frequency, longest[2][:train_end, 0])
    horizon = seasons[0] if cfg.horizon == "auto" else int(cfg.horizon)
    kept, left_out, segments, start = [], [], [], 0
    for series_id, grid, values, _, missing in placed:
        try:
            train_end, val_end = _boundaries(len(grid), cfg.split.val, cfg.split.test, _where(source, series_id))
            train_end, val_end = _fit_horizon(len(grid), train_end, val_end, horizon, _where(source, series_id))
        except DataError as err:
            if len(placed) == 1:
                raise
            left_out.append((series_id, len(grid), str(err)))
            continue
        kept.append((series_id, grid, values, missing))
        segments.append(Segment(series_id, start, start + len(grid), start + train_end, start + val_end))
        start += len(grid)
    if not kept:
        raise DataError(f"{source}: every series is too short for data.horizon={horizon}: "
                        f"{left_out[0][2]}. Lower the horizon or use longer series")
    grid = np.concatenate([g for _, g, _, _ in kept])
    values = np.concatenate([v for _, _, v, _ in kept])
    missing = _merged_missing([m for _, _, _, m in kept], names)
    train_times = np.concatenate([grid[seg.start:seg.train_end] for seg in segments])
    features, calendar_note = learnable_calendar(cfg.calendar_features, np.sort(train_times))  # in the profile
    calendar_names, calendar_values = calendar_columns(grid, features)
    values = np.concatenate([values, calendar_values], axis=1)
    first = segments[0]
    data = SeriesData(source, grid, values, targets, covariates, calendar_names, frequency, seasons, season_source,
                      horizon, (first.train_end, first.val_end), cfg.missing, missing, time_column, cfg.time_format,
                      calendar_note=calendar_note, time_source=time_source, segments=segments, id_column=id_column,
                      series_note=_series_note(left_out, horizon))
    train = values[data.train_mask]
    data.mean = np.nanmean(train, axis=0)
    std = np.nanstd(train, axis=0)
    data.std = np.where(std > 1e-8, std, 1.0)
    return data


def _where(source: str, series_id: str) -> str:
    """Names a series in errors: the file, and the series' id when there are several."""
    return f"{source}: series {series_id!r}" if series_id else source


def _on_grid(columns: dict, time_column: str, names: list[str], cfg, where: str):
    """One series on the regular grid of its frequency: (grid times, values (steps, names), frequency,
    what was missing), missing steps handled as data.missing says."""
    times = parse_times(columns[time_column], f"{where}: column {time_column!r}", cfg.time_format)
    check_order(times, where)
    frequency = infer_frequency(times, where)
    positions = grid_positions(times, frequency, where)
    steps = int(positions[-1]) + 1
    values = np.full((steps, len(names)), np.nan)
    for j, name in enumerate(names):
        values[positions, j] = numbers(columns[name], where, name)
    grid = grid_times(times[0], steps, frequency)
    missing = {"missing_steps": int(steps - len(times)),
               "missing_values": {name: int(np.isnan(values[:, j]).sum()) for j, name in enumerate(names)}}
    values = _apply_missing_policy(values, cfg.missing, where, grid, names, missing)
    return grid, values, frequency, missing


def _merged_missing(each: list[dict], names: list[str]) -> dict:
    """What was missing, summed over the series (one series' dict as it is)."""
    if len(each) == 1:
        return each[0]
    merged = {"missing_steps": sum(m["missing_steps"] for m in each),
              "missing_values": {name: sum(m["missing_values"][name] for m in each) for name in names}}
    policies = {m.get("policy") for m in each if "nothing missing" not in str(m.get("policy"))}
    merged["policy"] = policies.pop() if policies else each[0].get("policy")
    if any("interpolated_values" in m for m in each):
        merged["interpolated_values"] = sum(m.get("interpolated_values", 0) for m in each)
    return merged


def _series_note(left_out: list, horizon: int) -> Optional[str]:
    if not left_out:
        return None
    named = ", ".join(f"{series_id!r} ({steps} steps)" for series_id, steps, _ in left_out[:10])
    more = f" and {len(left_out) - 10} more" if len(left_out) > 10 else ""
    return (f"{len(left_out)} series left out, too short to train, validate and test on a horizon of {horizon}: "
            f"{named}{more}")


def _columns_of(table) -> dict:
    """Columns of a pandas DataFrame or a mapping of name -> values (pandas is not imported)."""
    if hasattr(table, "columns") and hasattr(table, "__getitem__"):
        return {str(name): list(table[name]) for name in table.columns}
    if isinstance(table, dict):
        return {str(k): list(v) for k, v in table.items()}
    raise DataError("time series data given in Python must be a DataFrame or a dict of columns. "
                    f"Received: {type(table).__name__}")


def read_csv_columns(path: Path, encoding: str = "auto") -> dict:
    """The columns of a CSV (or TSV) file by header name, as strings."""
    if path.is_dir():
        raise DataError(f"{path}: time series data must be one CSV file, not a folder")
    text = read_text_file(path, encoding)
    delimiter = "\t" if path.suffix == ".tsv" or ".tsv" in path.suffixes else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 1
    try:
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: the file is empty")
        header = [h.strip() for h in header]
        columns: dict = {name: [] for name in header}
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(f"{path}: row {number} has {len(row)} fields; the header has {len(header)}")
            for name, cell in zip(header, row):
                columns[name].append(cell)
    except csv.Error as err:
        raise DataError(f"{path}: row {number + 1}: not valid CSV: {err}") from None
    return columns


def _time_column(cfg, columns: dict, source: str) -> tuple[str, str]:
    """The time column, and how it was found: data.time_column; else the first column named as
    times usually are whose values read as times; else the first column whose values read as
    increasing times, whatever its name."""
    if cfg.time_column != "auto":
        if cfg.time_column not in columns:
            raise DataError(f"{source}: data.time_column={cfg.time_column!r} is not a column. "
                            f"Columns: {list(columns)}")
        return cfg.time_column, "data.time_column"
    for name in columns:
        if name.strip().lower() in TIME_COLUMN_NAMES and _reads_as_times(columns[name], cfg.time_format):
            return name, f"the column named {name!r}"
    for name in columns:
        if _reads_as_times(columns[name], cfg.time_format, increasing=True):
            return name, f"the first column whose values read as increasing times ({name!r})"
    raise DataError(f"{source}: no time column found: no column is named {', '.join(TIME_COLUMN_NAMES)} and none "
                    f"holds increasing dates or years; set data.time_column (and data.time_format if its "
                    f"values are written otherwise). Columns: {list(columns)}")


def _reads_as_times(values, time_format: Optional[str], increasing: bool = False) -> bool:
    """Whether a column's values parse as times (plain numbers only as four-digit years), and, if
    asked, strictly increase."""
    if not len(values):
        return False
    first = str(values[0]).strip()
    if first.lstrip("-").replace(".", "", 1).isdigit() and not (len(first) == 4 and first.isdigit()
                                                                 and 1000 <= int(first) <= 2999):
        return False  # a count or a measurement, not a date
    try:
        times = parse_times(values, "", time_format)
    except DataError:
        return False
    return not increasing or bool((np.diff(times).astype(np.int64) > 0).all())


def _targets(cfg, columns: dict, time_column: str, covariates: list, source: str) -> list[str]:
    for key, names in (("data.covariates", covariates),
                       ("data.targets", [] if cfg.targets == "auto" else cfg.targets)):
        for name in names:
            if name not in columns:
                raise DataError(f"{source}: {key} names {name!r}, which is not a column. Columns: {list(columns)}")
    if cfg.targets != "auto":
        if not cfg.targets:
            raise DataError(f"{source}: data.targets is empty; name at least one column to forecast")
        return list(cfg.targets)
    targets = [n for n in columns if n != time_column and n not in covariates]
    if not targets:
        raise DataError(f"{source}: no value column to forecast besides the time column; set data.targets")
    return targets


def numbers(cells, source: str, name: str) -> np.ndarray:
    """Floats of a column; empty cells and NaN become NaN, anything else must be a number."""
    out = np.empty(len(cells))
    for row, cell in enumerate(cells):
        if cell is None or (isinstance(cell, str) and cell.strip().lower() in ("", "nan", "na", "null")):
            out[row] = np.nan
            continue
        try:
            out[row] = float(cell)
        except (TypeError, ValueError):
            raise DataError(f"{source}: column {name!r}, row {row + 1}: {cell!r} is not a number") from None
        if np.isinf(out[row]):  # every trial would diverge on it
            raise DataError(f"{source}: column {name!r}, row {row + 1}: {cell!r} is infinite; expected a finite "
                            f"number, or an empty cell for a missing value")
    return out


def _apply_missing_policy(values, policy: str, source: str, grid, names, missing: dict) -> np.ndarray:
    """interpolate: linear in time (ends copy the nearest value); drop: leave NaN, windows skip
    them; fail: raise, naming the first missing step."""
    gaps = np.isnan(values)
    if not gaps.any():
        missing["policy"] = f"{policy} (nothing missing)"
        return values
    if policy == "fail":
        step, column = map(int, np.argwhere(gaps)[0])
        raise DataError(f"{source}: {int(gaps.sum())} value(s) are missing (first: {names[column]!r} at "
                        f"{grid[step]}) and data.missing is 'fail'; use 'interpolate' or 'drop'")
    missing["policy"] = policy
    for j, name in enumerate(names):
        if gaps[:, j].all():
            raise DataError(f"{source}: column {name!r} has no values (every cell is empty or NaN)")
    if policy == "drop":
        return values
    index = np.arange(len(values))
    filled = values.copy()
    for j in range(values.shape[1]):
        known = ~gaps[:, j]
        filled[~known, j] = np.interp(index[~known], index[known], values[known, j])
    missing["interpolated_values"] = int(gaps.sum())
    return filled


def learnable_calendar(features, train_times: np.ndarray) -> tuple[list[str], Optional[str]]:
    """The requested calendar features whose cycle the training part covers at least
    CALENDAR_MIN_CYCLES times, and a note naming the ones left out (None if none)."""
    days = float((train_times[-1] - train_times[0]) / np.timedelta64(1, "D")) if len(train_times) else 0.0
    kept, left_out = [], []
    for feature in features:
        cycles = days / CALENDAR_CYCLE_DAYS[feature]
        (kept if cycles >= CALENDAR_MIN_CYCLES else left_out).append((feature, cycles))
    if not left_out:
        return [f for f, _ in kept], None
    named = ", ".join(f"{f} (the training part spans {c:.1f} of its {CALENDAR_CYCLE_DAYS[f]:g}-day cycles)"
                      for f, c in left_out)
    return [f for f, _ in kept], (f"calendar feature(s) left out: {named}; a feature is used from "
                                  f"{CALENDAR_MIN_CYCLES:g} cycles on, fewer leave the model to extrapolate it")


def calendar_columns(times: np.ndarray, features) -> tuple[list[str], np.ndarray]:
    """Sine and cosine of each calendar feature's phase, from the timestamps alone."""
    names, columns = [], []
    seconds = times.astype("datetime64[s]").astype(np.int64)
    days = times.astype("datetime64[D]")
    phases = {
        "hour_of_day": (seconds % 86400) / 3600.0,
        "day_of_week": ((days.astype(np.int64) + 3) % 7).astype(float),  # 1970-01-01 was a Thursday: Monday = 0
        "day_of_year": (days - times.astype("datetime64[Y]")).astype(np.int64).astype(float),
        "month_of_year": (times.astype("datetime64[M]").astype(np.int64) % 12).astype(float),
    }
    for feature in features:
        angle = 2 * np.pi * phases[feature] / CALENDAR_PERIODS[feature]
        names += [f"{feature}_sin", f"{feature}_cos"]
        columns += [np.sin(angle), np.cos(angle)]
    values = np.stack(columns, axis=1) if columns else np.zeros((len(times), 0))
    return names, values


def _boundaries(steps: int, val: float, test: float, source: str) -> tuple[int, int]:
    train_end = int(round(steps * (1 - val - test)))
    val_end = int(round(steps * (1 - test)))
    if train_end < 2 or val_end <= train_end or steps <= val_end:
        raise DataError(f"{source}: {steps} steps cannot be split {1 - val - test:.2f}/{val}/{test}")
    return train_end, val_end


def _fit_horizon(steps: int, train_end: int, val_end: int, horizon: int, source: str) -> tuple[int, int]:
    """Boundaries that give validation and test at least one horizon each (taken from the end of
    training when the split's shares are smaller), with training long enough for its own windows.

    Every part is then forecast from rolling origins: each step of a part that has a horizon
    after it inside the part is one window.
    """
    val_steps = max(val_end - train_end, horizon)
    test_steps = max(steps - val_end, horizon)
    minimum = MIN_TRAIN_HORIZONS * horizon + val_steps + test_steps
    if steps - val_steps - test_steps < MIN_TRAIN_HORIZONS * horizon:
        raise DataError(f"{source}: {steps} steps are too few for data.horizon={horizon}: the series needs at "
                        f"least {minimum} ({MIN_TRAIN_HORIZONS} horizons to train on, then {val_steps} to "
                        f"validate and {test_steps} to test). Lower the horizon or use a longer series")
    val_end = steps - test_steps
    return val_end - val_steps, val_end


#: Training needs this many horizons of steps: one lookback and one horizon, at the least.
MIN_TRAIN_HORIZONS = 3


def describe_missing(missing: dict) -> Optional[str]:
    total = sum(missing.get("missing_values", {}).values())
    if not total:
        return None
    return f"{total} missing value(s) ({missing.get('missing_steps', 0)} absent step(s)): {missing.get('policy')}"
