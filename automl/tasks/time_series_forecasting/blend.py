"""What a forecaster ships: its rule plus a share of the network's correction.

The correction head is a linear last layer, so scaling its weights scales the correction: share 1
is the model as trained, 0 the rule alone. `ForecastInference.choose` picks the share from the
per-window errors of each, on the validation windows and the backtests' (`backtests.py`).
"""

from __future__ import annotations

import numpy as np

from automl.tasks.time_series_forecasting.evidence import EVIDENCE, gain_in_standard_errors

#: Shares of the network's correction tried on top of the linear map's rule, largest first.
CORRECTION_SHARES = (1.0, 0.75, 0.5, 0.25, 0.0)


def head_layer(model):
    """The model's correction `head`, or None (a model without one ships as it is)."""
    try:
        return model.get_layer("head")
    except ValueError:
        return None


def share_errors(model, x: np.ndarray, y: np.ndarray, relative: np.ndarray, scratch=None) -> dict:
    """share -> per-window MAE (standardized, times each window's `relative` weight) of the rule
    plus that share of the correction. `model` is left as it was; the shares are set in `scratch`
    (a copy of it the caller keeps), or in a copy made here."""
    import keras

    scaled = scratch
    if scaled is None:
        scaled = keras.models.clone_model(model)
        scaled.set_weights(model.get_weights())
    weights = head_layer(model).get_weights()
    errors = {}
    for share in CORRECTION_SHARES:
        head_layer(scaled).set_weights([w * share for w in weights])
        outputs = scaled.predict(x, batch_size=256, verbose=0)
        errors[share] = np.abs(outputs - y).reshape(len(x), -1).mean(axis=1) * relative
    return errors


def choose_share(per_window: dict, independent: float) -> tuple[float, dict]:
    """The share of the correction to ship from each share's per-window MAE (share 0: the rule
    alone), and every share's gain over the rule in standard errors: the lowest MAE among the
    shares whose gain passes `EVIDENCE`."""
    gains = {share: gain_in_standard_errors(per_window[0.0] - errors, independent)
             for share, errors in per_window.items()}
    kept = [share for share in per_window if share == 0.0 or gains[share] > EVIDENCE]
    return min(kept, key=lambda share: per_window[share].mean()), gains  # ties keep the larger share
