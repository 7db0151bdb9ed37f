"""Small real data and tiny families shared by the tests that train."""

from __future__ import annotations

import numpy as np

from automl.families.base import Family, FamilyInfo


def sample_arrays(sample_dir, per_class=30, classes=("Bag", "Sneaker", "Trouser")):
    """Real 28x28 Fashion-MNIST images from the shipped sample, as arrays."""
    from PIL import Image

    images, labels = [], []
    for name in classes:
        for path in sorted((sample_dir / name).glob("*.png"))[:per_class]:
            images.append(np.asarray(Image.open(path)))
            labels.append(name)
    return np.stack(images), np.array(labels)


def sample_folder(sample_dir, folder, per_class, classes=("Bag", "Sneaker", "Trouser")):
    """A folder of class folders holding `per_class` real images each, copied from the shipped sample."""
    import shutil

    for name in classes:
        (folder / name).mkdir(parents=True)
        for path in sorted((sample_dir / name).glob("*.png"))[:per_class]:
            shutil.copy(path, folder / name / path.name)
    return folder


class TinyFamily(Family):
    """A one-layer model whose `mode` can make a trial fail or diverge."""

    info = FamilyInfo(name="tiny", tasks=("image_classification",), description="test family")

    def build(self, hp, inputs, *, pretrained):
        import keras

        mode = hp.Choice("mode", ["ok", "crash", "nan"], default="ok")
        if mode == "crash":
            raise ValueError("this configuration cannot be built")
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
        if mode == "nan":
            # After the ReLU, which oneDNN maps NaN to 0 through: the features, and so the loss, are NaN.
            x = keras.layers.Rescaling(float("nan"))(x)
        return x

    def known_good(self, profile):
        return [{"mode": "crash"}, {"mode": "nan"}, {"mode": "ok", "learning_rate": 3e-3}]


def flex_ops_in(row: dict) -> list[str]:
    """The TensorFlow (Flex) ops in an export row's .tflite, read from the file itself; fails when
    the row's own `flex_ops` column says otherwise."""
    from pathlib import Path

    from automl.convert import flex_ops, tflite_ops

    in_file = flex_ops(tflite_ops(Path(row["path"]).read_bytes()))
    assert row["flex_ops"] == in_file, f"{row['path']}: the row says {row['flex_ops']}, the file has {in_file}"
    return in_file


def air_passengers_at_lookback_24(folder):
    """Air passengers (monthly, horizon 12) loaded for forecasting, and hyperparameters pinning a
    lookback of 24: (config, task, data, hp)."""
    import keras_tuner

    from automl.config.loader import config_from_mapping
    from automl.tasks.time_series_forecasting.task import Forecasting
    from tests.conftest import AIR_PASSENGERS, pmdarima_series

    path = pmdarima_series(AIR_PASSENGERS, "1949-01", "1M", folder / "air.csv")
    config = config_from_mapping({"task": "time_series_forecasting", "data": {"path": str(path), "horizon": 12}})
    task = Forecasting()
    data = task.load_data(config)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("lookback", 24)
    return config, task, data, hp


def air_forecaster_with_random_correction(folder, spread: float):
    """Air passengers (monthly, horizon 12) and a TCN forecaster at lookback 24 whose correction head
    holds random weights of `spread` (a network that learned noise): (config, task, data, hp, model)."""
    import keras

    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel

    config, task, data, hp = air_passengers_at_lookback_24(folder)
    keras.utils.set_random_seed(0)
    model = TaskHyperModel(get_family("tcn"), task, data).build(hp)
    head = model.get_layer("head")
    head.set_weights([np.random.default_rng(0).normal(0, spread, w.shape).astype(np.float32)
                      for w in head.get_weights()])
    return config, task, data, hp, model
