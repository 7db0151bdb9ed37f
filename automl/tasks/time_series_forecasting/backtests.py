"""Rolling-origin backtests: more windows for the choice between rule, model and blend.

A short series leaves validation few windows (air passengers: 10, about one horizon, so one
independent forecast), too few to tell a network's correction from its rule. A backtest cuts each
series' training part k horizons earlier, trains the kept trial afresh on what lies before the cut
(as many epochs as fine-tuning ran, the learning rate decaying as there) and forecasts the horizon
of windows after it, which that model never saw: each fold adds about one independent forecast to
the validation windows' evidence (as AutoGluon's `num_val_windows`). The fold keeps the run's rule
and refits a least-squares map on its own training windows. Nothing of the test part is read.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Optional

import numpy as np

from automl.progress import format_seconds, say
from automl.tasks.time_series_forecasting.blend import share_errors
from automl.tasks.time_series_forecasting.evidence import independent_windows
from automl.tasks.time_series_forecasting.linear_start import refit_linear_start
from automl.tasks.time_series_forecasting.windows import origins

#: Folds at most (`data.backtests: auto`), and the share of the model's training windows a fold
#: keeps at least: a fold trained on much less data than the model judges another model.
MAX_FOLDS = 5
MIN_TRAIN_SHARE = 0.5


def cut_earlier(data, horizons_back: int):
    """The series with each training part ending `horizons_back` horizons earlier, the horizon of
    windows after the cut as the validation part (and nothing cached of the uncut series)."""
    h = data.horizon
    segments = []
    for segment in data.segments:
        cut = max(segment.start, segment.train_end - horizons_back * h)
        segments.append(replace(segment, train_end=cut, val_end=max(cut, min(cut + 2 * h - 1, segment.val_end))))
    return replace(data, segments=segments, boundaries=(segments[0].train_end, segments[0].val_end), derived={})


def possible_folds(data, lookback: int, wanted: int) -> int:
    """How many folds (1, 2, ... horizons back) keep MIN_TRAIN_SHARE of the training windows."""
    full = len(origins(data, "train", lookback))
    folds = 0
    while folds < wanted:
        fold = cut_earlier(data, folds + 1)
        if len(origins(fold, "train", lookback)) < MIN_TRAIN_SHARE * full or not len(origins(fold, "val", lookback)):
            break
        folds += 1
    return folds


def run_backtests(task, data, family, hp, pretrained: bool, epochs: int, epoch_seconds: float, wanted: int,
                  seconds: Optional[float], seed: int) -> dict:
    """Per-window errors of every share of the correction on the folds' windows, in the units and
    weights `ForecastInference.choose` uses, as a JSON-ready dict; `folds` 0 with `why` when none
    ran. Folds start from the most recent and stop when the next would not end within `seconds`.

    Args:
        epochs, epoch_seconds: the epochs fine-tuning ran and its seconds per epoch on the whole
            training part (a fold's estimate scales by its windows).
    """
    lookback = task._lookback(hp, data)
    start = task.linear_start(data, lookback)
    possible = possible_folds(data, lookback, wanted)
    shorter = (f"a training part cut {possible + 1} horizon(s) earlier would keep less than {MIN_TRAIN_SHARE:.0%} "
               "of the model's training windows")
    if not possible:
        return {"folds": 0, "why": shorter}
    full = len(origins(data, "train", lookback))
    started, errors, windows, ran, why = time.time(), [], 0, 0, None
    for back in range(1, possible + 1):
        fold = cut_earlier(data, back)
        share = len(origins(fold, "train", lookback)) / full
        estimate = epochs * epoch_seconds * share
        left = None if seconds is None else seconds - (time.time() - started)
        if left is not None and estimate > left:
            why = (f"fold {back} needs about {format_seconds(estimate)}, {format_seconds(max(left, 0))} of the time "
                   "fine-tuning left remained")
            break
        say("finetune", f"backtest {back}/{possible}: training part cut {back} horizon(s) earlier "
                        f"({share:.0%} of its windows), {epochs} epoch(s), about {format_seconds(estimate)}")
        fold.derived["starting_rule"] = dict(data.derived.get("starting_rule", {}))
        fold.derived["linear_start"] = {lookback: refit_linear_start(fold, lookback, start)}
        model = _trained(task, fold, family, hp, pretrained, epochs, seed + back)
        fold_origins = origins(fold, "val", lookback)
        x, y = task.eval_arrays(fold, "val", hp)
        # Weighed by the run's series scales (not the fold's), as the validation windows are.
        relative = data.window_weights(fold_origins) if data.many else np.ones(len(x))
        errors.append(share_errors(model, x, y, relative))
        windows, ran = windows + len(x), ran + 1
    if not ran:
        return {"folds": 0, "why": why}
    shares = errors[0].keys()
    return {"folds": ran, "windows": windows, "epochs": epochs,
            "independent_windows": sum(independent_windows(len(e[0.0]), data.horizon) for e in errors),
            "seconds": round(time.time() - started, 1),
            "why_no_more": why or (shorter if possible < wanted else f"{wanted} asked (data.backtests; auto: at most "
                                                                         f"{MAX_FOLDS})"),
            "errors": {str(s): [round(float(v), 6) for e in errors for v in e[s]] for s in shares}}


def _trained(task, fold, family, hp, pretrained: bool, epochs: int, seed: int):
    from automl.finetune import BudgetedCosine
    from automl.hypermodel import TaskHyperModel
    from automl.training import stop_on_nan

    model = TaskHyperModel(family, task, fold, pretrained=pretrained, seed=seed).build(hp)
    rate = hp.get("learning_rate")
    task.trainer.compile_model(model, hp, rate)
    schedule = [BudgetedCosine(rate, 0, epochs, None)] if task.trainer.schedules_learning_rate else []
    task.trainer.fit(model, hp, fold, epochs=epochs, callbacks=[*schedule, stop_on_nan()])
    return model
