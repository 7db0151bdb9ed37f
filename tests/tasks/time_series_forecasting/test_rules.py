"""The baseline rules and their steadier variants: exact where they should be, the same inside the
model (as a linear map on centred windows) as on the raw series."""

from dataclasses import replace

import numpy as np
import pytest

from automl.tasks.time_series_forecasting.baselines import rules_for


@pytest.mark.parametrize("seasons,horizon", [([12], 30), ([48, 336], 48), ([1], 5)])
def test_every_rule_forecasts_as_its_linear_map_and_drift_rules_are_exact_on_trend_plus_season(seasons, horizon):
    steps = np.arange(3000)
    pattern = np.random.default_rng(0).normal(size=max(seasons))
    # A line plus a pattern repeating every season: each drift rule, averaged (equally or older
    # seasons weighed less) or not, recovers it exactly at every step, also beyond the first season
    # of the horizon; one that adds a share of its drift does not, but is still its linear map.
    series = (0.37 * steps + pattern[steps % max(seasons)])[:, None]
    noisy = series + np.random.default_rng(1).normal(size=series.shape)
    variants = rules_for(seasons, variants=True)
    smoothed = [replace(rule, season_decay=0.6) for rule in variants if rule.seasons_averaged > 1]
    damped = [replace(rule, drift_share=0.5) for rule in variants if rule.kind == "seasonal_naive_drift"]
    assert len(smoothed) > 0 and len(damped) > 0
    for rule in [*variants, *smoothed, *damped]:
        lookback = rule.history + 3
        origins = np.arange(lookback, 2800, 7)
        forecast = rule.forecast(noisy, origins, horizon)
        window = noisy[origins[:, None] + np.arange(-lookback, 0)[None]]
        last = window[:, -1:]
        kernel = rule.linear_kernel(lookback, horizon, 1, 1)
        mapped = ((window - last).reshape(len(origins), -1) @ kernel).reshape(forecast.shape) + last
        np.testing.assert_allclose(mapped, forecast, atol=1e-3, err_msg=rule.name)
        if rule.kind == "seasonal_naive_drift" and rule.season == max(seasons) and rule.drift_share == 1:
            exact = series[origins[:, None] + np.arange(horizon)[None]]
            np.testing.assert_allclose(rule.forecast(series, origins, horizon), exact, atol=1e-8, err_msg=rule.name)


def test_the_classic_rules_keep_their_names_and_the_variants_say_what_they_average():
    classic = [rule.name for rule in rules_for([48, 336])]
    assert classic == ["naive", "seasonal_naive", "seasonal_naive_drift", "seasonal_naive_336",
                       "seasonal_naive_drift_336"]
    variants = {rule.name: rule for rule in rules_for([48, 336], variants=True)}
    weekly = variants["seasonal_naive_drift_336_avg2_level48"]  # a day's level against two weeks before
    assert (weekly.seasons_averaged, weekly.level_steps, weekly.history) == (2, 48, 2 * 336 + 48)
    assert not weekly.classic and all(variants[name].classic for name in classic)
    assert "seasonal_naive_drift_level4" in variants  # within a day: the last two hours' level
    # A monthly season has no shorter level than a step: only averaged variants.
    assert not any("_level" in rule.name for rule in rules_for([12], variants=True))
