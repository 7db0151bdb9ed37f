"""Timestamps of a series: parsing, order checks and the inferred frequency.

Everything is numpy `datetime64[s]`; no pandas. A frequency is either a
fixed step (seconds: hourly, daily, weekly...) or calendar months/years,
whose steps in seconds vary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Sequence

import numpy as np

from automl.errors import DataError

#: Formats tried in order when `data.time_format` is not given; the first that reads every value is
#: used (so 13/01/2020 among the rows settles day-first; where both orders read every value,
#: month-first wins, as spreadsheets in the US and pandas read them).
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d", "%Y-%m", "%Y/%m", "%YM%m", "%Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%m/%d/%y", "%d/%m/%y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y", "%m/%Y",
    "%b %d %Y", "%d %b %Y", "%B %d %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %Y", "%B %Y",
    "%b-%d-%Y", "%d-%b-%Y", "%d-%b-%y", "%b-%Y", "%b-%y",
)
#: Quarters as people write them: 1995Q1, 1995-Q1, 1995 Q1, Q1 1995, Q1-1995.
_QUARTER = re.compile(r"^(?:(\d{4})[-\s]?Q([1-4])|Q([1-4])[-\s]?(\d{4}))$", re.IGNORECASE)

_FIXED_NAMES = {60: "minutely", 3600: "hourly", 86400: "daily", 7 * 86400: "weekly"}


@dataclass(frozen=True)
class Frequency:
    """A regular step: `seconds` for fixed steps, or `months` for calendar ones."""

    seconds: Optional[int] = None
    months: Optional[int] = None

    @property
    def name(self) -> str:
        if self.months:
            return {1: "monthly", 3: "quarterly", 12: "yearly"}.get(self.months, f"every {self.months} months")
        if self.seconds in _FIXED_NAMES:
            return _FIXED_NAMES[self.seconds]
        return f"every {self.seconds} s"

    def to_report(self) -> dict:
        return {"name": self.name, "seconds": self.seconds, "months": self.months}


def parse_times(values: Sequence, where: str, time_format: Optional[str] = None) -> np.ndarray:
    """Parses timestamps (strings, numbers or datetimes) to `datetime64[s]`.

    Args:
        values: one timestamp per row.
        where: names the file and column in errors.
        time_format: a `strftime` format; by default the first of TIME_FORMATS
            that reads the first value is used for every row.
    """
    values = list(values)
    if not values:
        raise DataError(f"{where}: no rows")
    if isinstance(values[0], (np.datetime64, datetime)) or np.asarray(values[:1]).dtype.kind == "M":
        return np.asarray(values, dtype="datetime64[s]")
    texts = [_quarter_as_month(str(v).strip()) for v in values]
    formats = [time_format] if time_format else [f for f in TIME_FORMATS if _parses(texts[0], f)]
    if not formats:
        raise DataError(f"{where}: cannot read {texts[0]!r} (row 1) as a time; set data.time_format "
                        f"(a strftime format such as '%Y-%m-%d %H:%M')")
    fmt = formats[0]
    if len(formats) > 1 and not all(_parses(text, fmt) for text in texts):  # 01/02 read both ways, 13/02 one
        fmt = next((f for f in formats[1:] if all(_parses(text, f) for text in texts)), fmt)
    out = np.empty(len(texts), dtype="datetime64[s]")
    for row, text in enumerate(texts):
        try:
            out[row] = np.datetime64(_naive_utc(datetime.strptime(text, fmt)), "s")
        except ValueError:
            raise DataError(f"{where}: row {row + 1}: {text!r} does not match the time format {fmt!r} "
                            f"of the first row") from None
    return out


def _quarter_as_month(text: str) -> str:
    """A quarter (1995Q2) as its first month (1995-04); other text unchanged."""
    match = _QUARTER.match(text)
    if not match:
        return text
    year, quarter = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
    return f"{year}-{3 * int(quarter) - 2:02d}"


def _naive_utc(moment: datetime) -> datetime:
    """A time with a UTC offset as the same instant in UTC, without the offset (numpy keeps none)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
        return True
    except ValueError:
        return False


def check_order(times: np.ndarray, where: str) -> None:
    """Fails on timestamps out of order or repeated, naming the rows."""
    steps = np.diff(times).astype(np.int64)
    if (steps == 0).any():
        row = int(np.flatnonzero(steps == 0)[0])
        raise DataError(f"{where}: rows {row + 1} and {row + 2} have the same time {times[row]}; "
                        f"each time may appear once (aggregate duplicates first)")
    if (steps < 0).any():
        row = int(np.flatnonzero(steps < 0)[0])
        raise DataError(f"{where}: times are not in increasing order: row {row + 2} ({times[row + 1]}) "
                        f"comes after row {row + 1} ({times[row]}); sort the rows by time")


def infer_frequency(times: np.ndarray, where: str) -> Frequency:
    """The most common step between timestamps (calendar months when steps are 28-31 days)."""
    if len(times) < 3:
        raise DataError(f"{where}: a series needs at least 3 timestamps. Received: {len(times)}")
    steps = np.diff(times).astype(np.int64)
    values, counts = np.unique(steps, return_counts=True)
    common = int(values[counts.argmax()])
    day = 86400
    if 28 * day <= common <= 31 * day:
        return Frequency(months=1)
    if 89 * day <= common <= 92 * day:
        return Frequency(months=3)
    if 365 * day <= common <= 366 * day:
        return Frequency(months=12)
    return Frequency(seconds=common)


def grid_positions(times: np.ndarray, freq: Frequency, where: str) -> np.ndarray:
    """Each timestamp's step number on the regular grid from the first one.

    Raises:
        DataError: a timestamp that falls between grid steps.
    """
    if freq.months:
        months = times.astype("datetime64[M]").astype(np.int64)
        offset = months - months[0]
        anchored = times - times.astype("datetime64[M]")  # time within the month
        off_grid = (offset % freq.months != 0) | (anchored != anchored[0])
        positions = offset // freq.months
    else:
        offset = (times - times[0]).astype(np.int64)
        off_grid = offset % freq.seconds != 0
        positions = offset // freq.seconds
    if off_grid.any():
        row = int(np.flatnonzero(off_grid)[0])
        raise DataError(f"{where}: row {row + 1} ({times[row]}) is not on the {freq.name} grid that starts "
                        f"at {times[0]}; resample the series to a regular step first")
    return positions.astype(np.int64)


def grid_times(start: np.datetime64, count: int, freq: Frequency) -> np.ndarray:
    """`count` regular timestamps from `start`."""
    if freq.months:
        months = start.astype("datetime64[M]") + np.arange(count) * freq.months
        return months.astype("datetime64[s]") + (start - start.astype("datetime64[M]"))
    return start + np.arange(count) * np.timedelta64(freq.seconds, "s")
