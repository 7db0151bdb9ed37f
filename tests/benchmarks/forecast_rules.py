"""Forecasting against the rules, series by series: the model's test MASE and MAE beside seasonal
naive, seasonal naive with drift, the rule (or least-squares fit) the model is built on and what
export shipped (the rule plus a validated share of the network's correction), the best classic rule and
the best the report scores (the model's own steadier variant among them), and exponential
smoothing from statsmodels as an outside reference (not a dependency of automl: it needs
`pip install statsmodels pandas patsy`; without them its column says so).

Usage: python tests/benchmarks/forecast_rules.py RUN_ROOT [--budget 4m] [--only air,co2] [--smoke]
(--smoke: the first series only, one trial of one epoch, no backtests)

Each series runs `automl.fit` with its budget (long: run it in the background), all on the same
chronological split; every figure is on the test part, which nothing chose by.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.conftest import (AIR_PASSENGERS, CO2, EMPLOYMENT, SEATTLE_TEMPS, TAYLOR, _package_file,  # noqa: E402
                            employment_long, pmdarima_series)


def series_sets(root: Path) -> dict:
    """name -> (CSV path, data settings): the series the tests have, plus a yearly one."""
    sets = {}
    if AIR_PASSENGERS:
        sets["air_passengers (144 monthly)"] = (pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", root / "air.csv"),
                                               {"horizon": 12})
    if CO2:
        sets["co2 (weekly)"] = (CO2, {"time_column": "date", "horizon": 52, "season": 52})
    if TAYLOR:
        sets["taylor load (half-hourly)"] = (pmdarima_series(TAYLOR, "2000-06-05T00:00", "30m", root / "taylor.csv"),
                                             {"horizon": 48})
    if SEATTLE_TEMPS:
        sets["seattle temps (hourly)"] = (SEATTLE_TEMPS, {"horizon": 24})
    if EMPLOYMENT:
        sets["employment (22 sectors, long, 57-120 monthly)"] = (employment_long(root / "employment.csv", stagger=3),
                                                                 {"horizon": 12})
    # The 257-point monthly series: the euro area's electrical equipment index, 1995-2016.
    elec = _package_file("statsmodels", "statsmodels/datasets/elec_equip/elec_equip.csv")
    if elec:
        sets["elec_equip (257 monthly)"] = (elec, {"horizon": 12})
    nile = _package_file("statsmodels", "statsmodels/datasets/nile/nile.csv")
    if nile:
        sets["nile (100 yearly)"] = (nile, {})
    return sets


def ets_test_mae(data, task, lookback: int) -> str:
    """statsmodels' exponential smoothing (additive damped trend, multiplicative season) refitted on the
    history before each test origin, its MAE on the same test windows (many series: each series' own
    fits, and the mean of their MASEs as the report gives it); or why not."""
    try:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: F401
    except ImportError as err:
        return f"n/a ({err.name} not installed)"
    from automl.tasks.time_series_forecasting.windows import origins

    starts = origins(data, "test", lookback)
    per_series, errors = [], []
    for index, segment in enumerate(data.segments):
        own = starts[(starts >= segment.start) & (starts < segment.end)]
        step = max(1, len(own) // (20 if not data.many else 3))  # at most 20 refits (3 a series)
        mine = [_ets_error(data.values[segment.start:, 0], origin - segment.start, data) for origin in own[::step]]
        errors += mine
        if mine:
            per_series.append(np.mean(mine) / data.series_mase_scale[index, 0])
    text = f"{np.mean(errors):.4f} ({len(errors)} origins)"
    return f"{text}, mean MASE {np.mean(per_series):.4f} over {len(per_series)} series" if data.many else text


def _ets_error(target: np.ndarray, origin: int, data) -> float:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    history = target[:origin]
    season = data.season if data.season > 1 and len(history) >= 2 * data.season else None
    # A multiplicative season where the series is positive (its swing grows with its level).
    kind = ("mul" if (history > 0).all() else "add") if season else None
    fit = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal=kind,
                               seasonal_periods=season).fit()
    return float(np.abs(fit.forecast(data.horizon) - target[origin:origin + data.horizon]).mean())


def _best(rules: dict, kept) -> list:
    name = min((name for name in rules if kept(name)), key=lambda name: rules[name]["mase"])
    return [name, round(rules[name]["mae"], 4), round(rules[name]["mase"], 4)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--budget", default="4m")
    parser.add_argument("--only", default="")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    import automl

    from smoke import TOY_RUN

    toy = {k: v for k, v in TOY_RUN.items() if k != "time_limit"} if args.smoke else {}
    budget = None if args.smoke else args.budget

    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    for name, (path, settings) in series_sets(root).items():
        if args.only and not any(key in name for key in args.only.split(",")):
            continue
        out = root / name.split()[0]
        sections = {"export": {"formats": ["tflite"], "quantizations": ["float32"]}, **toy}
        data = {**settings, "backtests": 0} if args.smoke else settings
        result = automl.fit(str(path), task="time_series_forecasting", output=str(out), data=data,
                            time_limit=budget, **sections)
        report = result.report
        rules = report["baselines"]
        inference = report.get("inference") or {}
        row = {
            "series": name, "budget": budget, "used_s": report["timings"]["total_seconds"],
            "family": report["best"]["family"],
            "model": {k: round(report["test_metrics"][k], 4) for k in ("mae", "mase")},
            "seasonal_naive": {k: round(rules["seasonal_naive"][k], 4) for k in ("mae", "mase")},
            "seasonal_naive_drift": {k: round(rules["seasonal_naive_drift"][k], 4) for k in ("mae", "mase")},
            # Among every rule the report scores (the model's own variant among them), and the classic ones.
            "best_rule": _best(rules, lambda name: name != "rule_per_series"),
            "best_classic_rule": _best(rules, lambda name: name != "rule_per_series" and "_avg" not in name
                                       and "_level" not in name),
            "linear_map": report["dataset"]["linear_start"]["start"],
            "shipped": {k: inference.get(k) for k in ("rule", "correction_share", "validation_windows", "windows",
                                                      "backtest_folds")},
            "ets_mae": ets_test_mae(result._data, result._task, report["best"]["hyperparameters"]["lookback"]),
        }
        if result._data.many:
            row["series_count"] = report["test_metrics"]["series"]
            row["rule_per_series"] = {k: round(rules["rule_per_series"][k], 4) for k in ("mae", "mase")}
        print(json.dumps(row), flush=True)
        if args.smoke:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
