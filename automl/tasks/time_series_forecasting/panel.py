"""Many series in one file, as retail and energy data come: long format (an id column naming
each row's series: `item, date, value`, as AutoGluon's TimeSeriesDataFrame and Prophet read
it) or wide format (one value column per series, `data.wide: true`).

Each series keeps its own times (lengths and start dates may differ) and is split on its own:
its last steps test, the ones before validate. `data.load_series_data` stacks the series one
after another into one table, and `Segment`s say where each lies, so windows never cross from
one series into the next and one global model trains on the windows of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from automl.errors import DataError

#: Columns taken as series ids when `data.id_column` is auto (compared lowercased).
ID_COLUMN_NAMES = ("id", "item_id", "unique_id", "series", "series_id", "item", "sku", "symbol", "store",
                   "store_id", "product", "product_id", "ticker")


@dataclass(frozen=True)
class Segment:
    """One series' rows in the stacked table: [start, end), split at train_end and val_end."""

    id: str
    start: int
    end: int
    train_end: int
    val_end: int

    def part_range(self, part: str) -> tuple[int, int]:
        return {"train": (self.start, self.train_end), "val": (self.train_end, self.val_end),
                "test": (self.val_end, self.end)}[part]


def find_id_column(wanted: str, columns: dict, source: str, reads_as_times) -> Optional[str]:
    """The id column: data.id_column; else (auto), when some column of times repeats them (long
    format), a column named as ids usually are, or else the first column of words (not numbers,
    not times: a value to forecast is a number), whose values repeat (several rows per series);
    None for one series (`none`, or no such column).

    Args:
        reads_as_times: tells whether a column's values parse as times.
    """
    if wanted == "none":
        return None
    if wanted != "auto":
        if wanted not in columns:
            raise DataError(f"{source}: data.id_column={wanted!r} is not a column. Columns: {list(columns)}")
        return wanted
    repeating = [name for name, values in columns.items() if 1 < len(set(values)) < len(values)]
    # Long format repeats times (each series has its own row for a time); a file of unique times is one series.
    if not any(reads_as_times(columns[name]) for name in repeating):
        return None
    for name in repeating:
        if name.strip().lower() in ID_COLUMN_NAMES:
            return name
    for name in repeating:
        if _words(columns[name]) and not reads_as_times(columns[name]):
            return name
    return None


def _words(values) -> bool:
    """Whether the first values are words rather than numbers (or empty cells)."""
    for value in list(values)[:20]:
        text = str(value).strip()
        if not text:
            continue
        try:
            float(text)
        except ValueError:
            return True
        return False
    return False


def split_long(columns: dict, id_column: str) -> list[tuple[str, dict]]:
    """Each id's rows as columns of their own (the id column left out), ids in order of first
    appearance."""
    rows: dict[str, list[int]] = {}
    for row, value in enumerate(columns[id_column]):
        rows.setdefault(str(value).strip(), []).append(row)
    others = [name for name in columns if name != id_column]
    return [(series_id, {name: [columns[name][i] for i in picked] for name in others})
            for series_id, picked in rows.items()]


def split_wide(columns: dict, time_column: str, value_columns: list[str], target: str) -> list[tuple[str, dict]]:
    """Each value column as a series of its own, named by the column, its values under `target`
    (rows where it is empty are missing steps, as in a long file)."""
    return [(name, {time_column: list(columns[time_column]), target: list(columns[name])})
            for name in value_columns]
