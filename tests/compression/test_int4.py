"""Weight-only int4 .tflite files: embedding tables (GATHER) and dense layers in 4 bits."""

import numpy as np


def _embedding_classifier():
    import keras

    keras.utils.set_random_seed(0)
    ids = keras.Input((16,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(3000, 64, name="tokens")(ids)
    x = keras.layers.Dense(96, activation="relu", name="hidden")(x)  # blocks of 32 inputs
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dense(40, activation="relu", name="odd")(keras.layers.Dense(72)(x))  # 72 inputs: per channel
    return keras.Model(ids, keras.layers.Dense(5, name="logits")(x))


def _run(content: bytes, inputs: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], inputs.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], inputs)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def test_int4_stores_embedding_tables_and_dense_kernels_in_four_bits(tmp_path):
    """Tables per row, dense kernels in blocks of 32 inputs or, when the inputs do not make whole
    blocks, per output channel; the small output layer stays float."""
    from automl.convert import convert_tflite, export_saved_model, tflite_ops
    from automl.int4 import float_weights

    model = _embedding_classifier()
    export_saved_model(model, tmp_path / "saved_model")
    float_file = convert_tflite(tmp_path / "saved_model", "float32", None, False)
    int4_file = convert_tflite(tmp_path / "saved_model", "int4", None, False)

    # 210,000 weights: 840 KB in float32, about 105 KB in 4 bits plus the scales.
    assert float_weights(float_file) == {"GATHER": 192_000, "FULLY_CONNECTED": 64 * 96 + 96 * 72 + 72 * 40}
    assert float_weights(int4_file) == {}
    assert len(int4_file) < 0.2 * len(float_file)
    assert "DEQUANTIZE" in tflite_ops(int4_file) and "GATHER" in tflite_ops(int4_file)

    ids = np.random.default_rng(0).integers(0, 3000, (32, 16)).astype(np.int32)
    expected, got = _run(float_file, ids), _run(int4_file, ids)
    # 15 levels per row: within a few percent of the outputs' range, and not the float file itself.
    error = np.abs(got - expected).max() / np.abs(expected).max()
    assert 0 < error < 0.15


def test_a_model_whose_only_large_weight_is_a_table_gets_it_in_four_bits_and_a_tiny_one_says_so(tmp_path):
    """A bag of n-grams: an embedding table, mean-pooled, and a 2-class head too small for int4
    (ai-edge-quantizer refuses an empty recipe; the table is ours to do)."""
    import keras

    from automl.convert import convert_tflite, export_saved_model
    from automl.int4 import float_weights, int4_note

    def bag(rows):
        keras.utils.set_random_seed(0)
        ids = keras.Input((32,), dtype="int32")
        pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(rows, 64)(ids))
        return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(pooled))

    export_saved_model(bag(2000), tmp_path / "bag")
    float_file = convert_tflite(tmp_path / "bag", "float32", None, False)
    int4_file = convert_tflite(tmp_path / "bag", "int4", None, False)
    assert float_weights(int4_file) == {} and int4_note(int4_file) is None
    assert len(int4_file) < 0.2 * len(float_file)
    ids = np.random.default_rng(1).integers(0, 2000, (16, 32)).astype(np.int32)
    assert np.abs(_run(int4_file, ids) - _run(float_file, ids)).max() < 0.05

    export_saved_model(bag(10), tmp_path / "tiny")  # 640 weights: nothing to make int4
    tiny = convert_tflite(tmp_path / "tiny", "int4", None, False)
    assert "holds the float32 weights" in (int4_note(tiny) or "")
