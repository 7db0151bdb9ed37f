"""No leakage: what each part's windows touch, and scaling fitted on training rows only."""

import numpy as np
import pytest

from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.tasks.time_series_forecasting.data import load_series_data
from automl.tasks.time_series_forecasting.windows import gather, origins, window_dataset
from tests.conftest import CO2

pytestmark = pytest.mark.skipif(CO2 is None, reason="needs pip install --no-deps statsmodels")
LOOKBACK = 104


@pytest.fixture(scope="module")
def data():
    return load_series_data(DataConfig(path=str(CO2), time_column="date", horizon=52,
                                       split={"val": 0.15, "test": 0.15}))


def test_training_windows_never_touch_validation_or_test_steps(data):
    train_end, _ = data.boundaries
    t = origins(data, "train", LOOKBACK)
    assert (t - LOOKBACK >= 0).all() and (t + data.horizon <= train_end).all()
    assert t.max() + data.horizon == train_end  # and every training step is used


def test_forecast_steps_stay_inside_their_part(data):
    seen = set()
    for part in ("train", "val", "test"):
        start, end = data.part_range(part)
        t = origins(data, part, LOOKBACK)
        steps = set((t[:, None] + np.arange(data.horizon)).ravel().tolist())
        assert min(steps) >= start and max(steps) < end
        assert not steps & seen
        seen |= steps


def test_scaling_is_fitted_on_the_training_part_only(data):
    train_end, _ = data.boundaries
    assert np.allclose(data.mean, data.values[:train_end].mean(axis=0))
    assert np.allclose(data.std, data.values[:train_end].std(axis=0))
    assert data.mean[0] < data.values[train_end:, 0].mean()  # CO2 rises: later parts would move it


def test_streamed_windows_equal_the_gathered_ones(data):
    t = origins(data, "val", LOOKBACK)[:20]
    x, y = gather(data.scaled, t, LOOKBACK, data.horizon, 1)
    bx, by = next(iter(window_dataset(data.scaled, t, LOOKBACK, data.horizon, 1, 20, shuffle=False)))
    np.testing.assert_array_equal(bx.numpy(), x)
    np.testing.assert_array_equal(by.numpy(), y)
    np.testing.assert_allclose(x[0, :, 0], (data.values[t[0] - LOOKBACK:t[0], 0] - data.mean[0]) / data.std[0],
                               rtol=1e-6)
