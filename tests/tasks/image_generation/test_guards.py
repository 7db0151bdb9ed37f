"""What ends or refuses a GAN's training: NaN, a discriminator that has won, a mode collapse,
and runtimes it cannot train under."""

import pytest

from automl.tasks.image_generation.callbacks import breakdown

HEALTHY = {"d_loss": 1.2, "g_loss": 0.9, "d_real": 0.6, "d_fake": 0.35, "val_frechet_distance": 4.0,
           "val_max_class_share": 0.14, "val_classes": 10, "val_feature_spread": 0.8}


def run(*changes):
    """Epoch logs: healthy ones, then each change in turn."""
    return [dict(HEALTHY) for _ in range(3)] + [{**HEALTHY, **change} for change in changes]


def test_a_healthy_run_goes_on():
    assert breakdown(run()) is None


@pytest.mark.parametrize("change, why", [
    ({"d_loss": float("nan")}, "d_loss became nan"),
    ({"g_loss": float("inf")}, "g_loss became inf"),
    ({"d_fake": 0.002, "d_loss": 0.01}, "discriminator collapse"),
    ({"val_max_class_share": 0.95}, "95% of the samples fall in one class (at best 14% did)"),
    ({"val_feature_spread": 0.004}, "vary 0.40% as much as the real images' (at best 80%)"),
])
def test_each_breakdown_is_named(change, why):
    assert why in breakdown(run(change))


def test_a_nan_or_a_won_game_ends_even_the_first_epoch():
    assert "became nan" in breakdown([{**HEALTHY, "d_loss": float("nan")}])
    assert "discriminator collapse" in breakdown([{**HEALTHY, "d_fake": 0.001}])


def test_samples_that_never_were_diverse_are_not_a_collapse_yet():
    # A barely trained generator draws near-identical images, all in one class.
    start = {**HEALTHY, "val_max_class_share": 0.97, "val_feature_spread": 0.002}
    assert breakdown([start] * 5) is None
    # Two classes: one of them holding 95% says little.
    assert breakdown(run({"val_max_class_share": 0.95, "val_classes": 2})) is None
    # Nor in the first epochs of a fit.
    assert breakdown([HEALTHY, {**HEALTHY, "val_feature_spread": 0.001}]) is None


@pytest.mark.parametrize("runtime, message", [({"strategy": "mirrored"}, "keras#20164"),
                                              ({"mixed_precision": True}, "loss scaling")])
def test_a_runtime_a_gan_cannot_train_under_is_refused_before_any_work(runtime, message):
    from automl.config.loader import config_from_mapping
    from automl.errors import ConfigError
    from automl.runtime import choose_runtime

    config = config_from_mapping({"task": "image_generation", "data": {"path": "."}, "runtime": runtime})
    with pytest.raises(ConfigError, match=message):
        choose_runtime(config)
