"""Mixed precision: the CPU check, and the float32 copy that is evaluated and exported."""

import keras
import numpy as np

from automl.precision import cpu_has_bf16_tiles, float32_copy, float32_policy


def test_the_cpu_check_reads_the_amx_bfloat16_flag(tmp_path):
    with_tiles, without = tmp_path / "amx", tmp_path / "plain"
    with_tiles.write_text("processor\t: 0\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n")
    assert cpu_has_bf16_tiles(with_tiles)
    assert not cpu_has_bf16_tiles(without)
    assert not cpu_has_bf16_tiles(tmp_path / "missing")


def _mixed_model():
    """A functional model with a nested model and a float32 head, built under mixed bfloat16."""
    with float32_policy():
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        inner_in = keras.Input((8,))
        inner = keras.Model(inner_in, keras.layers.Dense(16, activation="relu")(inner_in), name="inner")
        inputs = keras.Input((8,))
        hidden = keras.layers.BatchNormalization()(inner(inputs))
        outputs = keras.layers.Dense(3, dtype="float32")(hidden)
        model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(64, 8)), rng.normal(size=(64, 3)), epochs=2, verbose=0)
    return model


def test_the_float32_copy_computes_in_float32_with_the_trained_weights():
    model = _mixed_model()
    assert model.layers[1].layers[1].dtype_policy.name == "mixed_bfloat16"

    copy = float32_copy(model)

    policies = {layer.dtype_policy.name for layer in copy.layers} | {layer.dtype_policy.name
                                                                    for layer in copy.layers[1].layers}
    assert policies == {"float32"}
    assert keras.mixed_precision.global_policy().name == "float32"  # the run's policy is left as it was
    for ours, theirs in zip(copy.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    x = np.random.default_rng(1).normal(size=(16, 8)).astype("float32")
    # bfloat16 keeps 8 bits of mantissa: the two agree to its rounding, not bit for bit.
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.1, rtol=0.05)


def test_a_float32_model_is_its_own_copy():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert float32_copy(model) is model


def test_a_trials_model_is_built_in_the_runs_policy_after_keras_clears_its_session(tmp_path):
    """KerasTuner clears Keras's session (and with it Keras's global policy) before it builds each
    trial's model: the runtime's choice must hold all the same."""
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.precision import train_in
    from tests.helpers import air_passengers_at_lookback_24

    _, task, data, hp = air_passengers_at_lookback_24(tmp_path)
    try:
        train_in("mixed_bfloat16")
        keras.backend.clear_session()
        assert keras.mixed_precision.global_policy().name == "float32"
        model = TaskHyperModel(get_family("tcn"), task, data).build(hp)
        assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in model.layers}
        with float32_policy():
            assert {layer.dtype_policy.name for layer in TaskHyperModel(get_family("tcn"), task, data).build(hp).layers
                    if layer.weights} == {"float32"}
    finally:
        train_in("float32")


def test_a_run_that_fails_after_choosing_mixed_precision_leaves_the_process_in_float32(sample_dir, tmp_path):
    """A notebook's next model (or the next `fit`) must not inherit a failed run's bfloat16."""
    import pytest

    from automl.config.loader import config_from_mapping
    from automl.errors import ConfigError
    from automl.pipeline import run_pipeline
    from tests.helpers import sample_folder

    folder = sample_folder(sample_dir, tmp_path / "images", 20)
    config = config_from_mapping({"task": "image_classification", "data": {"path": str(folder)}, "time_limit": "3s",
                                  "runtime": {"mixed_precision": True}, "search": {"families": ["small_cnn"]}})
    with pytest.raises(ConfigError, match="too short"):  # refused after the runtime chose mixed_bfloat16
        run_pipeline(config, out_dir=tmp_path / "run")
    import json

    partial = json.loads((tmp_path / "run" / "report.json").read_text())  # no complete run to keep
    assert partial["runtime"]["precision_policy"] == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    inputs = keras.Input((4,))
    assert keras.layers.Dense(2)(inputs).dtype == "float32"


def test_a_float32_model_without_a_config_is_its_own_copy():
    """A subclassed model (the GAN's) that cannot be serialized is trained in float32: returned as it is."""

    class Pair(keras.Model):
        def __init__(self, first, second):
            super().__init__()
            self.first, self.second = first, second

        def call(self, inputs):
            return self.second(self.first(inputs))

    pair = Pair(keras.layers.Dense(3), keras.layers.Dense(2))
    pair(np.zeros((1, 4), "float32"))
    assert float32_copy(pair) is pair
