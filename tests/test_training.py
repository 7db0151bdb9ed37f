"""The searched optimizers do what their names say."""

import keras
import numpy as np
import pytest

from automl.training import OPTIMIZERS, make_optimizer


def shrink_per_step(optimizer) -> float:
    """How much one step with a zero gradient scales a weight: only weight decay moves it."""
    weight = keras.Variable(np.ones(4, "float32"))
    for _ in range(5):
        optimizer.apply_gradients([(keras.ops.zeros(4), weight)])
    return float(np.asarray(weight)[0]) ** (1 / 5)


def test_adamw_decays_weights_at_the_rates_the_search_tries():
    # A Fashion-MNIST fine-tuning: about 12,000 steps at a rate near 2e-3. AdamW that leaves
    # weights where they were is Adam under another name (as with a decay of 1e-4).
    steps, rate = 12_000, 2e-3
    assert shrink_per_step(make_optimizer("adamw", rate)) ** steps < 0.5
    assert shrink_per_step(make_optimizer("adam", rate)) == pytest.approx(1.0)


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError, match="optimizer='rmsprop'.*adam"):
        make_optimizer("rmsprop", 1e-3)
    assert set(OPTIMIZERS) == {"adam", "adamw", "sgd"}
