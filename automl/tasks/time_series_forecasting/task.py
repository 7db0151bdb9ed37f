"""Time-series forecasting: windows of the past in, `horizon` future steps out.

The model takes a window of standardized values (targets first, then
covariates) and returns standardized forecasts of the targets. Inside the
model each window is centred on its last target value and the level is
added back to the forecast, so series that trend beyond their training
range stay in range for the backbone. Metrics are computed in the data's
own units, against baselines that need no model.
"""

from __future__ import annotations

import numpy as np

from automl.tasks.time_series_forecasting.data import SeriesData, describe_missing, load_series_data
from automl.tasks.time_series_forecasting.baselines import longest_history, rules_for
from automl.tasks.time_series_forecasting.blend import choose_share, head_layer, share_errors
from automl.tasks.time_series_forecasting.evidence import EVIDENCE, independent_windows
from automl.tasks.time_series_forecasting.linear_start import error_lookbacks
from automl.tasks.time_series_forecasting.seasons import autocorrelation
from automl.tasks.time_series_forecasting.metrics import forecast_metrics, panel_metrics
from automl.tasks.time_series_forecasting.windows import (evenly_spaced, gather, lookback_choices, longest_lookback,
                                                          origins, window_dataset)
from automl.api import PythonApi
from automl.data.examples import Examples
from automl.errors import DataError
from automl.inference import Inference
from automl.scorer import Scorer
from automl.tasks.base import Task, handed_over
from automl.tasks.goal import Goal
from automl.report_view import ReportView


class Forecasting(Task):
    name = "time_series_forecasting"
    goal = Goal("val_mae", "min", metric_names=("mae", "rmse"), headline="mase", higher_is_better=False)
    inference = handed_over("automl.tasks.time_series_forecasting.task:ForecastInference")

    report_view = handed_over("automl.tasks.time_series_forecasting.task:ForecastingView")

    @classmethod
    def rank_family(cls, name, profile, pretrained):
        from automl.tasks.time_series_forecasting.selection import rank_family

        return rank_family(name, profile, pretrained)

    # -- data ---------------------------------------------------------------

    def load_data(self, config, arrays=None) -> SeriesData:
        data = load_series_data(config.data, config.seed, arrays=arrays)
        if data.many and data.missing_policy == "drop":
            # Each series' windows would then depend on the lookback, and the test windows with them.
            raise DataError(f"{data.source}: data.missing: drop is for one series; with {data.num_series} series "
                            f"use interpolate (or fail)")
        lookback = min(self.lookbacks(data))
        for part in ("train", "val", "test"):
            if not len(origins(data, part, lookback)):
                missing = describe_missing(data.missing)
                raise DataError(f"{data.source}: the {part} part has no complete window of {lookback} steps in and "
                                f"{data.horizon} out{f' ({missing})' if missing else ''}; use data.missing: "
                                f"interpolate, a shorter data.horizon, or a longer series")
        from automl.tasks.time_series_forecasting.transform import choose_log

        at = self.rule_lookback(data)
        data.transform = choose_log(data, at, self.starting_rule(data, at), config.data.transform)
        data.derived.pop("linear_start", None)  # found again on the series the model sees
        return data

    #: `automl.fit` takes a DataFrame or a dict of columns.
    python_api = handed_over("automl.tasks.time_series_forecasting.task:SeriesApi")

    def lookbacks(self, data) -> list[int]:
        """The lookbacks searched: those that hold the baseline rule forecasting the training and
        validation windows best, so every model is that rule plus a correction (a year and a step for monthly data
        with a trend: seasonal naive alone, all a 12-month window holds, forecast air passengers'
        test part 3.6 times worse than with drift)."""
        choices = lookback_choices(data.seasons, data.horizon, data.shortest_training_part())
        longest = longest_lookback(data.seasons, data.horizon, data.shortest_training_part())
        # The rule chosen among all that fit the longest lookback; the shortest window holding it
        # is searched too (two weeks and a day of half-hours for the load's two-week average).
        best = self.starting_rule(data, longest)
        held = {c for c in choices if best.feasible(c)} | {best.history if best.history > 1 else choices[0]}
        # And room for a fit on the rule's last errors (a day or two of half-hours after two weeks and a day).
        return sorted(held | set(error_lookbacks(data, best, longest)))

    def rule_lookback(self, data) -> int:
        """Two shortest seasons, or the shortest window that holds the baseline rule forecasting the
        training and validation windows best (two weeks and a day of half-hours when the mean of the
        last two weeks, lifted by the last day's change, is the best guess): where logs are chosen."""
        choices = lookback_choices(data.seasons, data.horizon, data.shortest_training_part())
        return max(choices[min(1, len(choices) - 1)], self.lookbacks(data)[0])

    def default_lookback(self, data) -> int:
        """The rule's lookback, or one with room for a fit on the rule's errors when its linear map
        forecasts the validation windows better (the search's first trial starts there)."""
        first = self.rule_lookback(data)
        longest = longest_lookback(data.seasons, data.horizon, data.shortest_training_part())
        roomier = [lookback for lookback in error_lookbacks(data, self.starting_rule(data, longest), longest)
                   if lookback > first]
        return min([first, *roomier], key=lambda lookback: self.linear_start(data, lookback).validation_mae)

    def profile(self, data) -> dict:
        longest = max(data.segments, key=lambda segment: segment.end - segment.start)
        target = data.values[longest.start:longest.train_end, 0]
        train = data.values[data.train_mask]
        lookback = self.default_lookback(data)
        return {
            "source": data.source,
            "examples": int(len(data.times)),
            "split_sizes": data.split_sizes(),
            "split_method": "chronological",
            "windows": {part: int(len(origins(data, part, lookback))) for part in ("train", "val", "test")},
            "start": str(data.times.min()),
            "end": str(data.times.max()),
            "frequency": data.frequency.to_report(),
            "time_column": {"name": data.time_column, "found_by": data.time_source},
            "season": data.season,
            "seasons": data.seasons,
            "season_source": data.season_source,
            "seasonal_autocorrelation": {str(s): autocorrelation(target, s) for s in data.seasons},
            "horizon": data.horizon,
            "lookback_choices": self.lookbacks(data),
            "linear_start": {"lookback": lookback, "start": self.linear_start(data, lookback).describe()},
            "transform": data.transform,
            "targets": data.targets,
            "covariates": data.covariates,
            "calendar_features": data.calendar,
            "calendar_note": data.calendar_note,
            "train_range": {name: [float(np.nanmin(train[:, j])), float(np.nanmax(train[:, j]))]
                            for j, name in enumerate(data.targets)},
            **({"series": _series_profile(data)} if data.many else {}),
            "missing": data.missing,
            "missing_note": describe_missing(data.missing),
        }

    #: Its examples are windows of the series.
    examples = handed_over("automl.tasks.time_series_forecasting.task:Windows")

    # -- model --------------------------------------------------------------

    def model_inputs(self, hp, data):
        import keras

        choices = self.lookbacks(data)
        lookback = hp.Choice("lookback", choices, default=self.default_lookback(data))
        return keras.Input((lookback, len(data.columns)), name="window")

    def model_outputs(self, hp, inputs, backbone, data):
        import keras

        from automl.tasks.time_series_forecasting.layers import AddLastValue, SubtractLastValue

        from automl.tasks.time_series_forecasting.layers import LogLevels

        k = data.num_targets
        levels = inputs
        if data.log_targets:  # the core forecasts logs; the file still takes and returns values
            scaling = dict(mean=data.mean[:k], std=data.std[:k], log_mean=data.log_mean, log_std=data.log_std)
            levels = LogLevels(**scaling, name="to_logs", dtype="float32")(inputs)
        centred = SubtractLastValue(k, name="centre")(levels)
        if data.many:  # one network for series of every size: it sees each window in its own scale
            from automl.tasks.time_series_forecasting.layers import ScaleTargets, WindowScale

            scale = WindowScale(k, name="window_scale", dtype="float32")(centred)
            unscaled = ScaleTargets(k, name="to_window_scale", dtype="float32")([centred, scale])
            correction = self.build_head(hp, backbone(unscaled), data)
            changes = ScaleTargets(k, multiply=True, name="from_window_scale", dtype="float32")([correction, scale])
        else:
            changes = self.build_head(hp, backbone(centred), data)
        # The rule is always there (not searched): a trial that learns nothing forecasts as the rule does.
        changes = keras.layers.Add(name="with_linear", dtype="float32")([changes, self._linear(centred, data)])
        if not data.log_targets:
            return AddLastValue(name="forecast", dtype="float32")([changes, levels])
        logs = AddLastValue(name="log_forecast", dtype="float32")([changes, levels])
        return LogLevels(**scaling, inverse=True, name="forecast", dtype="float32")(logs)

    def _linear(self, centred, data):
        """A linear map from the centred window to the forecast changes, beside the backbone.

        It is the baseline rule that forecasts the training windows best (the rules
        are linear in the window) or a least-squares fit of the training windows,
        whichever forecasts validation better (`linear_start`), and training leaves
        it as it is: the backbone learns what the rule misses.
        """
        import keras

        lookback = centred.shape[1]
        flat = keras.layers.Flatten(name="linear_flatten")(centred)
        # Fixed: the rule stays a part of every forecast, so a network that learns nothing forecasts as
        # the rule does, and export can weigh the network's correction against it (ForecastInference).
        dense = keras.layers.Dense(data.horizon * data.num_targets, dtype="float32", name="linear", trainable=False)
        linear = dense(flat)
        dense.kernel.assign(self.linear_start(data, lookback).kernel)
        dense.bias.assign(np.zeros(dense.bias.shape, dtype="float32"))
        return keras.layers.Reshape((data.horizon, data.num_targets), dtype="float32", name="linear_changes")(linear)

    def starting_rule(self, data, lookback: int):
        """The baseline `Rule` (classic or variant) with the lowest MAE on the training and validation
        windows this lookback allows (computed once per lookback: the default lookback and every
        model build ask for it)."""
        chosen = data.derived.setdefault("starting_rule", {})
        if lookback not in chosen:
            rules = {rule.name: rule for rule in rules_for(data.seasons, variants=True) if rule.feasible(lookback)}
            # Rules fit nothing: every training and validation window is a fair backtest of each.
            past = [_rule_forecasts(data, part, lookback, list(rules.values())) for part in ("train", "val")]
            actual = np.concatenate([p[0] for p in past])
            errors = {name: _standardized_mae(actual, np.concatenate([p[1][name] for p in past]), data) for name in rules}
            chosen[lookback] = rules[min(errors, key=errors.get)]
        return chosen[lookback]

    def reported_rules(self, data, lookback: int) -> list:
        """The baselines the report scores: the classic rules, and the model's own when it is a
        variant (`baselines.rules_for`)."""
        rules = rules_for(data.seasons)
        own = self.starting_rule(data, lookback)
        return rules if own.classic else [*rules, own]

    def linear_start(self, data, lookback: int):
        """The `LinearStart` of the model's linear map at this lookback (computed once per lookback)."""
        from automl.tasks.time_series_forecasting.linear_start import choose_linear_start

        chosen = data.derived.setdefault("linear_start", {})
        if lookback not in chosen:
            chosen[lookback] = choose_linear_start(data, lookback, self.starting_rule(data, lookback))
        return chosen[lookback]

    def build_head(self, hp, features, data):
        """Flattened features -> dropout -> one linear output per (step, target)."""
        import keras

        if len(features.shape) == 3:
            features = keras.layers.Flatten(name="head_flatten")(features)
        rate = hp.Float("head_dropout", 0.0, 0.3, step=0.1, default=0.1)
        features = keras.layers.Dropout(rate, name="head_dropout")(features)
        # Zeros: the model starts as the linear map's rule (or the last value) and the
        # backbone adds only what training finds it can improve.
        flat = keras.layers.Dense(data.horizon * data.num_targets, kernel_initializer="zeros", dtype="float32",
                                  name="head")(features)
        return keras.layers.Reshape((data.horizon, data.num_targets), dtype="float32", name="changes")(flat)

    def loss(self, hp):
        return "mae"

    def metrics(self) -> list:
        import keras

        return ["mae", keras.metrics.RootMeanSquaredError(name="rmse")]

    # -- data for training, calibration and evaluation ------------------------

    def _lookback(self, hp, data) -> int:
        if hp is not None and "lookback" in hp:  # `in hp` follows the search's name scope
            return int(hp.get("lookback"))
        return self.default_lookback(data)

    def train_dataset(self, hp, data, part, batch_size, indices=None, shuffle=True):
        lookback = self._lookback(hp, data)
        chosen = origins(data, part, lookback)
        if indices is not None:
            chosen = np.intersect1d(chosen, indices)
        weights = data.window_weights(chosen) if data.many else None
        return window_dataset(data.scaled, chosen, lookback, data.horizon, data.num_targets, batch_size, shuffle,
                              weights=weights)

    def representative_inputs(self, data, count, seed, hp=None):
        lookback = self._lookback(hp, data)
        picked = evenly_spaced(origins(data, "train", lookback), count)
        return gather(data.scaled, picked, lookback, data.horizon, data.num_targets)[0]

    def eval_arrays(self, data, part, hp=None):
        lookback = self._lookback(hp, data)
        return gather(data.scaled, origins(data, part, lookback), lookback, data.horizon, data.num_targets)

    # -- metrics --------------------------------------------------------------

    def to_raw(self, scaled: np.ndarray, data: SeriesData) -> np.ndarray:
        """Model outputs (standardized targets) in the data's units."""
        return self.preprocessor(data, None).decode(scaled)

    def evaluate(self, targets, outputs, data: SeriesData) -> dict:
        """Metrics on the test windows; with many series, MASE per series and their mean."""
        actual, forecast = self.to_raw(targets, data), self.to_raw(outputs, data)
        if not data.many:
            return forecast_metrics(actual, forecast, data.mase_scale, data.targets)
        # Many series keep missing steps interpolated, so the test windows are the same at every lookback.
        series = data.series_of(origins(data, "test", self.default_lookback(data)))
        if len(series) != len(actual):
            raise ValueError(f"{len(actual)} forecasts for {len(series)} test windows: evaluate takes the test part's")
        return panel_metrics(actual, forecast, series, data.series_mase_scale, _series_ids(data), data.targets)

    scorer = handed_over("automl.tasks.time_series_forecasting.task:ForecastScorer")

    #: `automl predict` forecasts the steps after each history CSV given.
    bundle_reader = handed_over("automl.tasks.time_series_forecasting.bundle:ForecastReader")

    def baselines(self, data, hp) -> dict:
        """Each baseline's test metrics and validation MAE (standardized, as the search objective)."""
        lookback = self._lookback(hp, data)
        rules = self.reported_rules(data, lookback)
        val_actual, val_forecasts, _ = _rule_forecasts(data, "val", lookback, rules)
        test_actual, test_forecasts, test_origins = _rule_forecasts(data, "test", lookback, rules)
        baselines = {"validation": {name: _standardized_mae(val_actual, forecast, data)
                                    for name, forecast in val_forecasts.items()}}
        if not data.many:
            baselines["test"] = {name: forecast_metrics(test_actual, forecast, data.mase_scale, data.targets)
                                 for name, forecast in test_forecasts.items()}
            return baselines
        series, ids = data.series_of(test_origins), _series_ids(data)
        baselines["test"] = {name: panel_metrics(test_actual, forecast, series, data.series_mase_scale, ids, data.targets)
                             for name, forecast in test_forecasts.items()}
        baselines["test"]["rule_per_series"] = _rule_per_series(data, lookback, rules, baselines["test"])
        baselines["notes"] = {"rule_per_series": "each series' own rule: the one with the lowest MAE on that "
                                                 "series' training and validation windows (rules fit nothing, so "
                                                 "every past window is a fair backtest)"}
        return baselines

    # -- report and bundle ----------------------------------------------------

    def metadata(self, data, hp=None) -> dict:
        lookback = self._lookback(hp, data)
        k = data.num_targets
        return {
            "input": {
                "name": "window",
                "time_column": data.time_column,
                "time_format": data.time_format,
                "value_columns": data.targets + data.covariates,
                "shape": [None, lookback, len(data.columns)],
                "dtype": "float32",
                "columns": data.columns,
                "scaling": "x = (raw - mean) / std per column, oldest step first",
                "mean": [float(v) for v in data.mean],
                "std": [float(v) for v in data.std],
                "calendar_features": {name: _calendar_formula(name) for name in data.calendar},
            },
            "output": {
                "shape": [None, data.horizon, k],
                "targets": data.targets,
                "scaling": "raw = y * std + mean per target",
                "mean": [float(v) for v in data.mean[:k]],
                "std": [float(v) for v in data.std[:k]],
                "first_step": "the step right after the window's last step",
            },
            "frequency": data.frequency.to_report(),
            "lookback": lookback,
            "horizon": data.horizon,
            "season": data.season,
            "seasons": data.seasons,
            "last_training_time": str(max(data.times[segment.train_end - 1] for segment in data.segments)),
            **({"series": {"id_column": data.id_column, "ids": _series_ids(data),
                           "note": "one model for every series: a window of one series per call, scaled with "
                                   "the mean and std here (the table's, not the series')"}}
               if data.many else {}),
            # Inside the model: the window's targets become standardized logs, and the forecast values again.
            "transform": "log" if data.log_targets else "none",
        }

    def preprocessor(self, data, hp):
        from automl.tasks.time_series_forecasting.preprocessor import WindowScaler

        return WindowScaler(data.mean, data.std, data.num_targets)


def _rule_forecasts(data, part: str, lookback: int, rules: list) -> tuple[np.ndarray, dict, np.ndarray]:
    """(actuals, {rule: forecasts}, the windows' origins) in raw units on a part's windows with
    the history the rules need in their own series; windows touching a dropped value are left out."""
    chosen = origins(data, part, lookback)
    series_start = np.array([segment.start for segment in data.segments])[data.series_of(chosen)]
    chosen = chosen[chosen - series_start >= longest_history(rules)]
    raw = data.values[:, : data.num_targets]
    actual = gather(raw, chosen, 1, data.horizon, data.num_targets)[1].astype(np.float64)
    forecasts = {rule.name: rule.forecast(raw, chosen, data.horizon) for rule in rules}
    usable = np.isfinite(actual).all(axis=(1, 2))
    for forecast in forecasts.values():
        usable &= np.isfinite(forecast).all(axis=(1, 2))
    return actual[usable], {name: forecast[usable] for name, forecast in forecasts.items()}, chosen[usable]


def _series_ids(data) -> list[str]:
    return [segment.id for segment in data.segments]


def _series_profile(data) -> dict:
    lengths = [segment.end - segment.start for segment in data.segments]
    return {"count": data.num_series, "id_column": data.id_column or "(wide: one column per series)",
            "ids": _series_ids(data)[:50], "steps": {"min": int(min(lengths)), "max": int(max(lengths))},
            "note": data.series_note}


def _rule_per_series(data, lookback: int, rules: list, test: dict) -> dict:
    """What a forecaster of one rule per series scores: each series' rule is the one with the lowest
    MAE over its own training and validation windows; its test metrics, and their mean MASE."""
    past = [_rule_forecasts(data, part, lookback, rules) for part in ("train", "val")]
    actual = np.concatenate([p[0] for p in past])
    errors = {name: np.abs(np.concatenate([p[1][name] for p in past]) - actual).mean(axis=(1, 2))
              for name in past[0][1]}  # per past window
    series = data.series_of(np.concatenate([p[2] for p in past]))
    per_series = {}
    for series_id in next(iter(test.values()))["per_series"]:
        picked = series == _series_ids(data).index(series_id)
        rule = min(errors, key=lambda name: errors[name][picked].mean() if picked.any() else 0.0)
        per_series[series_id] = {**test[rule]["per_series"][series_id], "rule": rule}
    return {"mase": float(np.mean([m["mase"] for m in per_series.values()])),
            "mae": float(np.mean([m["mae"] for m in per_series.values()])), "per_series": per_series}


def _standardized_mae(actual: np.ndarray, forecast: np.ndarray, data) -> float:
    """MAE in training standard deviations: the scale of the search objective (val_mae)."""
    return float(np.mean(np.abs(forecast - actual) / data.std[: data.num_targets]))


def _calendar_formula(name: str) -> str:
    from automl.tasks.time_series_forecasting.data import CALENDAR_PERIODS

    feature = name.rsplit("_", 1)[0]
    function = name.rsplit("_", 1)[1]
    phase = {"hour_of_day": "hour + minute/60", "day_of_week": "weekday (Monday = 0)",
             "day_of_year": "days since 1 January", "month_of_year": "month - 1"}[feature]
    return f"{function}(2 * pi * ({phase}) / {CALENDAR_PERIODS[feature]})"


class SeriesApi(PythonApi):
    """`automl.fit` for forecasting: a DataFrame or a dict of columns (read as a CSV would be)."""

    def in_memory(self, data):
        if isinstance(data, dict) or hasattr(data, "columns"):
            return data, {"path": ".", "format": "csv"}
        return super().in_memory(data)


class ForecastInference(Inference):
    """The forecaster as trained, or its linear map's rule plus a share of the network's correction
    when that forecasts the validation windows better (the whole correction, none of it, or a
    blend); its window goes in and the forecast comes out in float: test levels beyond the training
    range would clip in int8. Slicing off the last value, centring and adding the level back stay
    float; everything between is int8."""

    def backtest(self, data, family, hp, pretrained, trained, seconds, config):
        """Rolling-origin backtests of the kept trial (`backtests.py`) for `choose`: `data.backtests`
        folds, or with auto up to MAX_FOLDS, none without a time_limit; under one, as many as the
        `seconds` fine-tuning left allow."""
        from automl.tasks.time_series_forecasting.backtests import MAX_FOLDS, run_backtests

        wanted = config.data.backtests
        if wanted == 0:
            return {"folds": 0, "why": "data.backtests is 0"}
        if wanted == "auto" and (seconds is None or not config.spend_time_limit):
            return {"folds": 0, "why": "data.backtests: auto runs them in the time a time_limit leaves after "
                                       "fine-tuning (set a number to run them regardless)"}
        if head_layer(trained.model) is None or not trained.epochs_run:
            return {"folds": 0, "why": "the model has no correction to weigh against its rule"}
        return run_backtests(self.task, data, family, hp, pretrained, trained.epochs_run,
                             trained.seconds / trained.epochs_run, MAX_FOLDS if wanted == "auto" else wanted,
                             seconds, config.seed)

    def choose(self, model, data, hp, config, evidence=None):
        """Scales the correction head (a linear last layer, so scaling its weights scales the
        correction) by the share with the lowest MAE among those whose gain over the rule alone is
        more than `EVIDENCE` standard errors of the windows' paired differences (windows a horizon
        apart counted as independent: neighbours share all but one step); the rule alone when none
        is. The windows are validation's and, when `evidence` holds backtests, the folds' (the same
        trial trained on earlier data). The test split is not looked at."""
        import keras

        if head_layer(model) is None:
            return model, None
        x, y = self.task.eval_arrays(data, "val", hp)
        # Many series: each window's errors relative to its series' size, as training weighed them.
        lookback = self.task._lookback(hp, data)
        relative = data.window_weights(origins(data, "val", lookback)) if data.many else np.ones(len(x))
        chosen = keras.models.clone_model(model)
        chosen.set_weights(model.get_weights())
        on_validation = share_errors(model, x, y, relative, scratch=chosen)
        independent = independent_windows(len(x), data.horizon)
        per_window = on_validation
        folds = (evidence or {}).get("folds", 0)
        if folds:
            per_window = {share: np.concatenate([errors, evidence["errors"][str(share)]])
                          for share, errors in on_validation.items()}
            independent += evidence["independent_windows"]
        best, gains = choose_share(per_window, independent)
        head_layer(chosen).set_weights([w * best for w in head_layer(model).get_weights()])
        start = self.task.linear_start(data, lookback).name
        inference = {"rule": start, "correction_share": best, "windows": int(sum(map(len, per_window.values())) /
                                                                              len(per_window)),
                     "validation_windows": int(len(x)), "backtest_folds": int(folds),
                     "independent_windows": round(independent, 1),
                     "mae": {str(share): round(float(e.mean()), 6) for share, e in per_window.items()},
                     "validation_mae": {str(share): round(float(e.mean()), 6) for share, e in on_validation.items()},
                     "gain_over_rule_in_standard_errors": {str(share): round(float(g), 2) for share, g in gains.items()
                                                          if share != 0.0}}
        if evidence and not folds:
            inference["backtests_skipped"] = evidence.get("why")
        return (model, inference) if best == 1.0 else (chosen, inference)

    def tf_keras(self, model, inference):
        share = (inference or {}).get("correction_share", 1.0)
        if share != 1.0:
            head = model.get_layer("head")
            head.set_weights([w * share for w in head.get_weights()])
        return model


    int8_float_ops = ("STRIDED_SLICE", "SUB", "ADD", "MUL", "LOG", "EXP", "MAXIMUM", "ABS", "MEAN", "DIV")
    output_name = "forecast"

    def tflite_metadata(self, data, hp, config):
        from automl.app_metadata.describe import forecaster

        meta = self.task.metadata(data, hp)
        return forecaster(config.run_name(), f"Forecaster trained by automl on {config.data.path}",
                          meta["input"]["columns"], meta["input"]["mean"], meta["input"]["std"], meta["lookback"],
                          meta["horizon"], meta["output"]["targets"], data.frequency.name)


class Windows(Examples):
    """A forecaster's examples: the windows of a part, at the default lookback."""

    def count(self, data, part: str) -> int:
        return len(origins(data, part, self.task.default_lookback(data)))

    def sample(self, data, part: str, count: int, seed: int) -> np.ndarray:
        """Evenly spaced window origins (times, not positions: lookbacks differ per trial)."""
        return evenly_spaced(origins(data, part, max(self.task.lookbacks(data))), count)


class ForecastScorer(Scorer):
    """Forecasts judged by their errors in the data's units."""

    def compare(self, reference, outputs, data: SeriesData) -> dict:
        """How far a converted model's forecasts are from the Keras model's, in the data's units."""
        reference, outputs = self.task.to_raw(reference, data), self.task.to_raw(outputs, data)
        difference = np.abs(outputs - reference)
        relative = difference / np.maximum(np.abs(reference), 1e-6)
        return {"max_rel_error": float(relative.max()), "max_abs_error": float(difference.max())}

class ForecastingView(ReportView):
    """What the terminal and the report show of Forecasting runs."""

    def describe_inference(self, inference: dict) -> str:
        from automl.readable import number

        def by_share(values) -> str:  # {"1.0": 0.0442, "0.75": ...} -> "1: 0.04423, 0.75: ..."
            if not isinstance(values, dict):
                return number(values)
            return ", ".join(f"{float(share):g}: {number(value)}" for share, value in values.items())

        share = inference["correction_share"]
        what = ("the model as trained" if share == 1.0 else f"the {inference['rule']} rule alone" if share == 0.0
                else f"the {inference['rule']} rule plus {share:g} of the network's correction")
        folds = inference.get("backtest_folds", 0)
        windows = inference.get("windows", inference["validation_windows"])
        where = (f"{windows} windows ({inference['validation_windows']} of validation, {windows - inference['validation_windows']} "
                 f"of {folds} backtest(s))" if folds else f"{windows} validation windows")
        skipped = f"; no backtests: {inference['backtests_skipped']}" if inference.get("backtests_skipped") else ""
        return (f"{what}: the lowest MAE of the blends whose gain over the rule passes "
                f"{EVIDENCE:g} standard error on {where}, ~{inference['independent_windows']} independent; "
                f"MAE by share of the correction {by_share(inference.get('mae', inference['validation_mae']))}; "
                f"gain in standard errors {by_share(inference['gain_over_rule_in_standard_errors'])}{skipped}")

    def describe_profile(self, profile: dict) -> str:
        from automl.readable import number

        seasons = " and ".join(str(s) for s in profile["seasons"])
        text = (f"{super().describe_profile(profile)}, {profile['frequency']['name']}, "
                f"season{'s' if len(profile['seasons']) > 1 else ''} {seasons}, "
                f"horizon {profile['horizon']}, windows (train/val/test) "
                f"{' / '.join(number(profile['windows'].get(part)) for part in ('train', 'val', 'test'))}")
        notes = [profile[key] for key in ("missing_note", "calendar_note") if profile.get(key)]
        series = profile.get("series")
        if series:
            notes.insert(0, f"{series['count']} series of {series['steps']['min']}-{series['steps']['max']} steps "
                            f"(one model for all)")
            if series.get("note"):
                notes.append(series["note"])
        found = profile.get("time_column", {})
        if found.get("found_by", "data.time_column") != "data.time_column":
            notes.insert(0, f"times from {found['found_by']}")
        transform = profile.get("transform") or {}
        if transform.get("log"):
            mae = transform.get("mae")
            notes.append(f"the model forecasts logs ({transform['rule']} MAE {mae['log']:.4g} on logs against "
                         f"{mae['plain']:.4g} on the values over {transform['windows']} backtest windows)"
                         if mae else "the model forecasts logs (data.transform)")
        return ", ".join([text, *notes])

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        from automl.tasks.time_series_forecasting import figures

        lookback = inputs.shape[1]
        test_origins = origins(data, "test", lookback)
        # With many series, the first one's test part (every series is in report.json's per_series).
        shown = data.series_of(test_origins) == 0
        start, end = data.segments[0].part_range("test")
        title = f" of series {data.segments[0].id!r}" if data.many else ""
        return [
            (f"Forecasts against the actuals (test part{title})",
             figures.forecast_plot(data.times[start:end], data.values[start:end, :data.num_targets],
                                   data.times, test_origins[shown], self.task.to_raw(outputs[shown], data),
                                   data.targets)),
            ("Error by horizon step (test part, MAE)",
             figures.error_by_step({"model": report["test_metrics"]["per_step"]["mae"],
                                    **{name: m["per_step"]["mae"] for name, m in report.get("baselines", {}).items()
                                       if "per_step" in m}})),
        ]
