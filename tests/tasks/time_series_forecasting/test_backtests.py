"""Rolling-origin backtests: each fold trains only on what lies before its cut and is judged on the
horizon after it, and its windows join validation's in the choice between rule, model and blend."""

import numpy as np
import pytest

from automl.config.loader import config_from_mapping
from automl.errors import ConfigError
from automl.tasks.time_series_forecasting.backtests import MIN_TRAIN_SHARE, cut_earlier, possible_folds
from automl.tasks.time_series_forecasting.config import ForecastingData as DataConfig
from automl.tasks.time_series_forecasting.data import load_series_data
from automl.tasks.time_series_forecasting.windows import origins
from tests.conftest import employment_long
from tests.helpers import air_forecaster_with_random_correction


def test_a_fold_trains_before_its_cut_in_every_series_and_is_judged_on_the_horizon_after(tmp_path):
    # Six sectors of different lengths and start dates, each cut at its own end of training.
    data = load_series_data(DataConfig(path=str(employment_long(tmp_path / "long.csv", stagger=4)), horizon=12))
    lookback, h = 24, data.horizon
    full = origins(data, "train", lookback)
    folds = possible_folds(data, lookback, 10)
    assert 1 <= folds < 10  # bounded by the training windows a fold keeps, not by the 10 asked
    for back in range(1, folds + 2):
        fold = cut_earlier(data, back)
        train, judged = origins(fold, "train", lookback), origins(fold, "val", lookback)
        for segment, cut in zip(data.segments, fold.segments):
            assert cut.train_end == max(segment.start, segment.train_end - back * h)
            inside = lambda o: o[(o >= segment.start) & (o < segment.end)]  # noqa: E731
            # Nothing a fold trains on reaches its cut; it is judged on the h windows after it, whose
            # steps end before the run's test part.
            assert (inside(train) + h <= cut.train_end).all()
            if cut.train_end - segment.start >= lookback:
                assert list(inside(judged)) == list(range(cut.train_end, cut.train_end + h))
            assert (inside(judged) + h <= segment.val_end).all()
        kept = len(train) >= MIN_TRAIN_SHARE * len(full)
        assert kept == (back <= folds)
    assert not fold.derived and data.derived is not fold.derived  # nothing cached of the uncut series


@pytest.fixture(scope="module")
def air(tmp_path_factory):
    return air_forecaster_with_random_correction(tmp_path_factory.mktemp("air"), spread=0.02)


def _evidence(rule_error: float, model_error: float, folds: int = 5, horizon: int = 12) -> dict:
    rng = np.random.default_rng(1)
    windows = folds * horizon
    base = rng.uniform(0.15, 0.25, windows)
    errors = {str(share): list(base + rule_error + share * (model_error - rule_error) + rng.normal(0, 0.005, windows))
              for share in (1.0, 0.75, 0.5, 0.25, 0.0)}
    return {"folds": folds, "windows": windows, "independent_windows": float(folds), "errors": errors}


def test_the_backtests_windows_join_validations_and_can_overturn_its_choice(air):
    config, task, data, hp, model = air
    alone, on_validation = task.inference.choose(model, data, hp, config)
    assert on_validation["backtest_folds"] == 0 and on_validation["windows"] == on_validation["validation_windows"]
    # Five folds whose every window the correction forecasts far better: the whole correction ships.
    _, helped = task.inference.choose(model, data, hp, config, _evidence(rule_error=0.2, model_error=0.0))
    assert helped["correction_share"] == 1.0
    assert helped["windows"] == helped["validation_windows"] + 60 and helped["backtest_folds"] == 5
    assert helped["independent_windows"] == pytest.approx(on_validation["independent_windows"] + 5)
    assert helped["validation_mae"] == on_validation["validation_mae"]  # validation's own figures are kept
    # Five folds where it hurts as much: the rule alone.
    chosen, hurt = task.inference.choose(model, data, hp, config, _evidence(rule_error=0.0, model_error=0.2))
    assert hurt["correction_share"] == 0.0
    text = task.report_view.describe_inference(hurt)
    assert f"{hurt['windows']} windows ({hurt['validation_windows']} of validation, 60 of 5 backtest(s))" in text


def test_backtests_run_when_asked_or_in_time_a_limit_leaves_and_say_why_not(air):
    config, task, data, hp, model = air
    skipped = task.inference.backtest(data, None, hp, False, None, None, config)
    assert skipped["folds"] == 0 and "time_limit" in skipped["why"]
    none = task.inference.backtest(data, None, hp, False, None, 100.0, config.model_copy(
        update={"data": config.data.model_copy(update={"backtests": 0})}))
    assert none == {"folds": 0, "why": "data.backtests is 0"}
    _, inference = task.inference.choose(model, data, hp, config, skipped)
    assert "no backtests: data.backtests: auto runs them" in task.report_view.describe_inference(inference)
    with pytest.raises(ConfigError, match=r"data.backtests: expected 'auto' or a number of at least 0. Received: -2"):
        config_from_mapping({"task": "time_series_forecasting", "data": {"path": config.data.path, "backtests": -2}})
