"""TFLite Metadata written by automl: read back by our reader, by MediaPipe's generated schema code,
and used by MediaPipe Tasks' ImageClassifier (labels and normalization from inside the file)."""

import numpy as np
import pytest

from automl.app_metadata.packing import read_metadata, with_metadata
from automl.app_metadata.schema import decode_metadata, encode_metadata

IMAGE_CLASSIFIER = {
    "name": "tiny classifier", "description": "three classes", "version": "1", "author": "automl",
    "min_parser_version": "1.0.0",
    "subgraph_metadata": [{
        "input_tensor_metadata": [{
            "name": "image", "description": "RGB pixels 0..255",
            "content": {"content_properties": {"ImageProperties": {"color_space": "RGB",
                                                                   "default_size": {"width": 28, "height": 28}}}},
            "process_units": [{"options": {"NormalizationOptions": {"mean": [0.0], "std": [1.0]}}}],
            "stats": {"max": [255.0], "min": [0.0]}}],
        "output_tensor_metadata": [{
            "name": "probability", "content": {"content_properties": {"FeatureProperties": {}}},
            "stats": {"max": [1.0], "min": [0.0]},
            "associated_files": [{"name": "labels.txt", "description": "class names", "type": "TENSOR_AXIS_LABELS"}]}],
        "input_process_units": [{"options": {"RegexTokenizerOptions": {
            "delim_regex_pattern": "[^\\w']+", "vocab_file": [{"name": "vocab.txt", "type": "VOCABULARY"}]}}}],
        "custom_metadata": [{"name": "SEGMENTER_METADATA", "data": b"\x0c\x00\x00\x00"}]}],
}
LABELS = b"Bag\nSneaker\nTrouser\n"


def test_metadata_round_trips_through_our_reader_and_mediapipes_schema():
    content = encode_metadata(IMAGE_CLASSIFIER)
    assert content[4:8] == b"M001"
    assert decode_metadata(content) == IMAGE_CLASSIFIER
    schema = pytest.importorskip("mediapipe.tasks.metadata.metadata_schema_py_generated")
    theirs = schema.ModelMetadataT.InitFromPackedBuf(bytearray(content), 0)
    graph = theirs.subgraphMetadata[0]
    image = graph.inputTensorMetadata[0]
    assert (theirs.name, theirs.minParserVersion) == (b"tiny classifier", b"1.0.0")
    assert image.content.contentPropertiesType == schema.ContentProperties.ImageProperties
    assert image.content.contentProperties.colorSpace == schema.ColorSpaceType.RGB
    assert image.content.contentProperties.defaultSize.height == 28
    assert image.processUnits[0].optionsType == schema.ProcessUnitOptions.NormalizationOptions
    assert list(image.processUnits[0].options.std) == [1.0]
    labels = graph.outputTensorMetadata[0].associatedFiles[0]
    assert (labels.name, labels.type) == (b"labels.txt", schema.AssociatedFileType.TENSOR_AXIS_LABELS)
    assert graph.inputProcessUnits[0].options.delimRegexPattern == b"[^\\w']+"
    assert bytes(graph.customMetadata[0].data) == b"\x0c\x00\x00\x00"


def test_an_unknown_field_is_refused_naming_the_table():
    with pytest.raises(KeyError, match="ModelMetadata has no field \\['nmae'\\]"):
        encode_metadata({"nmae": "x"})


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A float32 .tflite taking RGB pixels 0..255 (scaled inside), three classes."""
    import keras

    from automl.convert import convert_tflite, export_saved_model

    keras.utils.set_random_seed(0)
    pixels = keras.Input((28, 28, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(pixels))
    model = keras.Model(pixels, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x)))
    folder = tmp_path_factory.mktemp("tiny")
    export_saved_model(model, folder / "saved_model")
    return convert_tflite(folder / "saved_model", "float32", None, False)


def _litert(content, image):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None].astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def test_a_file_carries_its_metadata_and_labels_and_still_runs(tiny_classifier):
    packed = with_metadata(tiny_classifier, IMAGE_CLASSIFIER, {"labels.txt": LABELS})
    metadata, files = read_metadata(packed)
    assert metadata == IMAGE_CLASSIFIER and files == {"labels.txt": LABELS}
    image = np.random.default_rng(0).integers(0, 256, (28, 28, 3)).astype(np.uint8)
    np.testing.assert_array_equal(_litert(packed, image), _litert(tiny_classifier, image))
    # Written again, it replaces what the file carried rather than adding a second copy.
    again = with_metadata(packed, {**IMAGE_CLASSIFIER, "version": "2"}, {"labels.txt": b"a\nb\nc\n"})
    assert read_metadata(again) == ({**IMAGE_CLASSIFIER, "version": "2"}, {"labels.txt": b"a\nb\nc\n"})
    assert read_metadata(tiny_classifier) == (None, {})


def test_the_same_model_and_files_pack_to_the_same_bytes_at_any_time(tiny_classifier, monkeypatch):
    import time

    first = with_metadata(tiny_classifier, IMAGE_CLASSIFIER, {"labels.txt": LABELS})
    # Zip entries carry a date: an hour later the bytes must not change (re-exports are compared).
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "localtime", lambda *_: time.gmtime(later))
    assert with_metadata(tiny_classifier, IMAGE_CLASSIFIER, {"labels.txt": LABELS}) == first


def test_mediapipe_image_classifier_reads_the_labels_and_normalization_from_the_file(tiny_classifier, tmp_path):
    mp = pytest.importorskip("mediapipe", reason="pip install automl[mediapipe]")
    from mediapipe.tasks.python import BaseOptions, vision

    path = tmp_path / "model.tflite"
    path.write_bytes(with_metadata(tiny_classifier, IMAGE_CLASSIFIER, {"labels.txt": LABELS}))
    image = np.random.default_rng(1).integers(0, 256, (28, 28, 3)).astype(np.uint8)
    expected = _litert(path.read_bytes(), image)
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(path)), max_results=3)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=image))
    scores = {c.category_name: c.score for c in result.classifications[0].categories}
    assert scores == pytest.approx(dict(zip(["Bag", "Sneaker", "Trouser"], expected.tolist())), abs=1e-6)
