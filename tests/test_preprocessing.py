"""Each task's preprocessor is saved in the bundle and loaded from it unchanged: the loaded one
encodes and decodes exactly as the one the run built."""

import json

import numpy as np
import pytest

from automl.errors import DataError
from automl.preprocessing import FILE, load_preprocessor, stack_batches


def reloaded(preprocessor, folder):
    preprocessor.save(folder)
    return load_preprocessor(folder)


def test_image_files_and_arrays_encode_alike_after_a_reload(sample_dir, tmp_path):
    from PIL import Image

    from automl.tasks.image_classification.preprocessor import ImagePreprocessor

    paths = sorted((sample_dir / "Bag").glob("*.png"))[:3]
    pixels = np.stack([np.asarray(Image.open(p)) for p in paths])  # (3, 28, 28): no channel axis
    loaded = reloaded(ImagePreprocessor((28, 28, 1)), tmp_path)
    from_files = loaded.encode([str(p) for p in paths])
    assert from_files.shape == (3, 28, 28, 1) and from_files.dtype == np.float32
    np.testing.assert_array_equal(from_files, loaded.encode(pixels))
    with pytest.raises(DataError, match="no such image file"):
        loaded.encode([str(tmp_path / "missing.png")])
    with pytest.raises(DataError, match=r"shaped \(N, 28, 28, 1\)"):
        loaded.encode(np.zeros((2, 32, 32, 3)))


def test_texts_tokenize_alike_with_the_saved_tokenizer(tmp_path):
    from automl.tasks.text_classification.preprocessor import TextPreprocessor
    from automl.tasks.text_classification.tokenizers import WordTokenizer

    built = TextPreprocessor(WordTokenizer(["[PAD]", "[UNK]", "a", "good", "film", "."], 8))
    loaded = reloaded(built, tmp_path)
    texts = ["A good film.", "a bad film", ""]
    for key, value in built.encode(texts).items():
        np.testing.assert_array_equal(loaded.encode(texts)[key], value)
    assert list(loaded.encode(["a good film"])["token_ids"][0][:3]) == [2, 3, 4]
    both = stack_batches([loaded.encode(["a"]), loaded.encode(["film"])])
    assert both["token_ids"].shape == (2, 8)


def test_windows_are_standardized_and_forecasts_scaled_back(tmp_path):
    from automl.tasks.time_series_forecasting.preprocessor import WindowScaler

    loaded = reloaded(WindowScaler(mean=[10.0, 1.0], std=[2.0, 0.5], num_targets=1), tmp_path)
    window = np.array([[[12.0, 1.5], [8.0, 0.5]]])
    np.testing.assert_allclose(loaded.encode(window), [[[1.0, 1.0], [-1.0, -1.0]]])
    np.testing.assert_allclose(loaded.decode(np.array([[[0.5], [-2.0]]])), [[[11.0], [6.0]]])
    forecast = loaded.run(lambda x: x[:, :, :1], window)  # a model that repeats the target column
    np.testing.assert_allclose(forecast, window[:, :, :1])
    with pytest.raises(DataError, match=r"\(N, lookback, 2\)"):
        loaded.encode(np.zeros((1, 5, 3)))


def test_whole_images_are_tiled_and_stitched_after_a_reload(tmp_path):
    from automl.tasks.image_segmentation.preprocessor import TilePreprocessor

    loaded = reloaded(TilePreprocessor(tile=16, overlap=4, channels=1), tmp_path)
    image = np.random.default_rng(0).uniform(0, 255, (40, 37)).astype(np.float32)  # grey, no channel axis

    def two_classes(tiles):  # "probabilities" that carry the pixels through, to check the stitching
        scaled = tiles / 255.0
        return np.concatenate([scaled, 1 - scaled], axis=-1)

    probabilities = loaded.run(two_classes, [image])
    assert probabilities.shape == (1, 40, 37, 2)
    np.testing.assert_allclose(probabilities[0, ..., 0], image / 255.0, atol=1e-5)


def test_only_automl_preprocessors_load(tmp_path):
    (tmp_path / FILE).write_text(json.dumps({"class": "os:system", "config": {}}))
    with pytest.raises(DataError, match="not one of automl's preprocessors"):
        load_preprocessor(tmp_path)
    with pytest.raises(DataError, match="preprocessor.json not found"):
        load_preprocessor(tmp_path / "elsewhere")


@pytest.mark.parametrize("named", ["os:system", "automl.run_dir:Recorder", "automl.preprocessing:FILE"])
def test_a_bundle_cannot_make_automl_run_anything_but_a_preprocessor(tmp_path, named):
    """preprocessor.json is a file anyone with the folder may have written: only a Preprocessor
    subclass's from_config runs."""
    import json

    from automl.errors import DataError
    from automl.preprocessing import load_preprocessor

    (tmp_path / "preprocessor.json").write_text(json.dumps({"class": named, "config": {"out_dir": "/"}}))
    with pytest.raises(DataError, match="is not one of automl's preprocessors"):
        load_preprocessor(tmp_path)
