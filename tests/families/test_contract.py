"""Every registered family: build -> one training step -> TFLite -> LiteRT.

A new family is tested here with no extra code.
"""

import keras_tuner
import numpy as np
import pytest

from automl.config.loader import config_from_mapping
from automl.export import convert_tflite, tflite_ops
from automl.families import family_names, get_family
from automl.hypermodel import TaskHyperModel
from automl.tasks import get_task
from automl.verify import LiteRTModel
from tests.helpers import sample_arrays

#: Inputs each task's families are checked on (task name -> data path kind).
TASK_DATA = {"image_classification": "images"}


@pytest.fixture(scope="module")
def image_data(tmp_path_factory):
    from tests.conftest import SAMPLE

    config = config_from_mapping({"task": "image_classification",
                                  "data": {"path": str(tmp_path_factory.mktemp("d"))}})
    task = get_task("image_classification")
    return task, task.load_data(config, arrays=sample_arrays(SAMPLE, per_class=20))


def cases():
    for name in family_names():
        for task in get_family(name).info.tasks:
            if task in TASK_DATA:
                yield pytest.param(name, task, id=f"{name}-{task}")


@pytest.mark.parametrize("family_name,task_name", list(cases()))
def test_family_trains_exports_and_runs_on_litert(family_name, task_name, image_data, tmp_path):
    task, data = image_data
    family = get_family(family_name)
    info = family.info
    assert info.name == family_name and task_name in info.tasks
    hypermodel = TaskHyperModel(family, task, data, label=family_name)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("batch_size", 16)
    model = hypermodel.build(hp)
    train, _ = hypermodel.datasets(hp)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(train.take(1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

    saved = tmp_path / "saved"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    x, y = task.eval_arrays(data, "test")
    keras_out = model.predict(x, verbose=0)
    samples = task.representative_inputs(data, 16, 0)
    for quantization in ("float32", "int8"):
        content = convert_tflite(saved, quantization,
                                 lambda: ([s[None]] for s in samples), allow_flex=False)
        if info.builtin_tflite:
            assert not [op for op in tflite_ops(content) if op.startswith("Flex")]
        path = tmp_path / f"{quantization}.tflite"
        path.write_bytes(content)
        out = LiteRTModel(path).predict(x)
        assert out.shape == keras_out.shape
        if quantization == "float32":
            np.testing.assert_allclose(out, keras_out, atol=1e-4)
        else:
            assert task.agreement(keras_out, out) >= 0.5
