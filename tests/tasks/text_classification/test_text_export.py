"""int8 TFLite of models that take token ids and a padding mask."""

from pathlib import Path

import keras
import numpy as np


from automl.convert import MASKED_LOGIT, convert_tflite, export_saved_model, representative_stream, twin_converter
from automl.verify import LiteRTModel

LENGTH, VOCABULARY = 12, 1000


def token_batch(count: int, seed: int = 0) -> dict:
    """Token ids over the whole vocabulary, and masks with 4..12 real tokens."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, LENGTH + 1, count)
    mask = (np.arange(LENGTH)[None] < lengths[:, None]).astype(np.int32)
    ids = rng.integers(1, VOCABULARY, (count, LENGTH)).astype(np.int32) * mask
    return {"token_ids": ids, "padding_mask": mask}


def litert(content: bytes, tmp_path) -> LiteRTModel:
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    return LiteRTModel(path)


def test_twin_calibrates_each_input_on_its_own_data(tmp_path):
    """tf_keras twins list inputs sorted by name; TFLite files do not.

    Calibrating the mask on token ids (0..999) rounds every mask value to zero.
    """
    import tensorflow as tf
    import tf_keras

    inputs = {n: tf_keras.Input((LENGTH,), batch_size=1, dtype="int32", name=n)
              for n in ("token_ids", "padding_mask")}
    x = tf_keras.layers.Embedding(VOCABULARY, 8)(inputs["token_ids"])
    x = tf_keras.layers.Lambda(
        lambda t: tf.reduce_max(t[0] * tf.expand_dims(tf.cast(t[1], tf.float32), -1), axis=1)
    )([x, inputs["padding_mask"]])
    twin = tf_keras.Model(inputs, tf_keras.layers.Dense(2, activation="softmax")(x))

    samples = token_batch(64)
    lite = litert(convert_tflite(twin_converter(twin), "int8", representative_stream(samples), False, float_inputs=False),
                  tmp_path)
    expected = np.concatenate([twin.predict({k: v[i:i + 1] for k, v in samples.items()}, verbose=0)
                               for i in range(len(samples["token_ids"]))])
    np.testing.assert_allclose(lite.predict(samples), expected, atol=0.03)


def graph_constants(saved_model: Path) -> np.ndarray:
    """Every float constant in a SavedModel's graphs, flattened."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    values = [tf.make_ndarray(n.attr["value"].tensor).ravel() for n in nodes
              if n.op == "Const" and n.attr["dtype"].type == tf.float32.as_datatype_enum]
    return np.concatenate(values)


def test_exported_attention_masks_padding_with_an_int8_friendly_logit(tmp_path):
    """A -1e9 masked logit would share the int8 range of the real ones and flatten them."""
    ids = keras.Input((LENGTH,), dtype="int32", name="token_ids")
    mask = keras.Input((LENGTH,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(VOCABULARY, 16)(ids)
    attention_mask = keras.ops.cast(keras.ops.expand_dims(mask, 1), "bool")
    x = keras.layers.MultiHeadAttention(2, 8)(x, x, attention_mask=attention_mask)
    model = keras.Model([ids, mask], keras.layers.GlobalMaxPooling1D()(x))

    export_saved_model(model, tmp_path / "sm")
    constants = graph_constants(tmp_path / "sm")
    assert MASKED_LOGIT in constants
    assert constants.min() > -1e6

    samples = token_batch(8)
    lite = litert(convert_tflite(tmp_path / "sm", "float32", None, False), tmp_path)
    np.testing.assert_allclose(lite.predict(samples), model.predict(samples, verbose=0), atol=1e-4)
