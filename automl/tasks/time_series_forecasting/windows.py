"""Forecast windows: `lookback` steps in, `horizon` steps of the targets out.

A window is named by its origin t, the first step it forecasts. Its
forecast steps [t, t + horizon) lie inside one part of the split. Its
lookback [t - lookback, t) is the past before the origin: for training
windows that past is inside the training part too, so training never sees
a validation or test value; a validation or test window may look back into
earlier parts, which are history by then (as on a phone in use).
"""

from __future__ import annotations

import numpy as np


def origins(data, part: str, lookback: int) -> np.ndarray:
    """Origins of every complete window of `part`, series after series (a window stays inside its
    series; windows touching a dropped value are left out)."""
    each = []
    for segment in data.segments:
        start, end = segment.part_range(part)
        first = start + lookback if part == "train" else max(start, segment.start + lookback)
        each.append(np.arange(first, end - data.horizon + 1, dtype=np.int64))
    candidates = np.concatenate(each)
    if data.missing_policy == "drop" and len(candidates):
        bad = np.isnan(data.values).any(axis=1)
        bad_before = np.concatenate([[0], np.cumsum(bad)])  # bad rows in [0, i)
        spans = bad_before[candidates + data.horizon] - bad_before[candidates - lookback]
        candidates = candidates[spans == 0]
    return candidates


def gather(values: np.ndarray, origins_: np.ndarray, lookback: int, horizon: int, num_targets: int):
    """(inputs (N, lookback, columns), targets (N, horizon, num_targets)) as float32 arrays."""
    past = origins_[:, None] + np.arange(-lookback, 0)[None, :]
    future = origins_[:, None] + np.arange(horizon)[None, :]
    return (values[past].astype(np.float32),
            values[future][..., :num_targets].astype(np.float32))


def window_dataset(values: np.ndarray, origins_: np.ndarray, lookback: int, horizon: int, num_targets: int,
                   batch_size: int, shuffle: bool, seed: int = 0, weights: np.ndarray | None = None):
    """A batched `tf.data.Dataset` of windows cut on the fly from the series (no copies held), with
    each window's loss weight when `weights` (one per origin) is given."""
    import tensorflow as tf

    series = tf.constant(values, dtype=tf.float32)
    past = tf.range(-lookback, 0, dtype=tf.int64)
    future = tf.range(horizon, dtype=tf.int64)

    def cut(t, *weight):
        x = tf.gather(series, t[:, None] + past[None, :])
        y = tf.gather(series, t[:, None] + future[None, :])[..., :num_targets]
        return (x, y, *weight)

    # A weight per window, shaped to broadcast over the per-step losses Keras weighs.
    slices = (origins_.astype(np.int64) if weights is None
              else (origins_.astype(np.int64), weights.astype(np.float32)[:, None]))
    ds = tf.data.Dataset.from_tensor_slices(slices)
    if shuffle:
        ds = ds.shuffle(len(origins_), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def lookback_choices(seasons: list[int], horizon: int, train_steps: int) -> list[int]:
    """Lookbacks worth searching: 1-4 of the shortest season (or multiples of the horizon without a
    season), and the longest season (one step more, for its drift rule, and one shortest season
    more) so a weekly rule fits in the window;
    keeping at least half of the training part for windows."""
    base = base_step(seasons, horizon)
    limit = longest_lookback(seasons, horizon, train_steps)
    wanted = {k * base for k in (1, 2, 3, 4)}
    if seasons[-1] > 4 * base:
        wanted |= {seasons[-1] + 1, seasons[-1] + base}
    return sorted({min(k, limit) for k in wanted})


def longest_lookback(seasons: list[int], horizon: int, train_steps: int) -> int:
    """The longest lookback searched: half the training part less a horizon (windows need room),
    at least the shortest season (or the horizon's multiple when there is none)."""
    return max(train_steps // 2 - horizon, base_step(seasons, horizon))


def base_step(seasons: list[int], horizon: int) -> int:
    """The unit lookbacks are counted in: the shortest season, or the horizon (at least 8) without one."""
    return seasons[0] if seasons[0] > 1 else max(horizon, 8)


def evenly_spaced(origins_: np.ndarray, count: int) -> np.ndarray:
    """At most `count` origins spread evenly from the first to the last (seasons stay balanced)."""
    if len(origins_) == 0:
        return origins_
    picked = np.linspace(0, len(origins_) - 1, min(count, len(origins_))).round().astype(int)
    return origins_[np.unique(picked)]
