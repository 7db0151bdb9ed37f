"""Forecasting's preprocessor: raw windows -> standardized model inputs, forecasts -> the data's units."""

from __future__ import annotations

import numpy as np

from automl.errors import DataError
from automl.preprocessing import Preprocessor


class WindowScaler(Preprocessor):
    """Standardizes each column with the training part's mean and deviation, and scales
    forecasts back.

    Args:
        mean, std: per input column (targets first, then covariates and calendar columns).
        num_targets: how many of the leading columns the model forecasts.
    """

    def __init__(self, mean, std, num_targets: int):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.num_targets = int(num_targets)

    def encode(self, inputs) -> np.ndarray:
        """Windows (N, lookback, columns), or (N, lookback) for one column."""
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim == 2 and len(self.mean) == 1:
            x = x[..., None]
        if x.ndim != 3 or x.shape[-1] != len(self.mean):
            raise DataError(f"expected windows shaped (N, lookback, {len(self.mean)}). Received: shape={x.shape}")
        return ((x - self.mean) / self.std).astype(np.float32)

    def decode(self, outputs) -> np.ndarray:
        k = self.num_targets
        return np.asarray(outputs, dtype=np.float64) * self.std[:k] + self.mean[:k]

    def get_config(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "num_targets": self.num_targets}
