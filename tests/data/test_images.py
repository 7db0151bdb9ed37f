import gzip

import numpy as np
import pytest
from PIL import Image

from automl.config.schema import DataConfig
from automl.data.images import load_image_data, read_idx
from automl.errors import DataError
from tests.conftest import FASHION_MNIST


def config(path, **kw):
    return DataConfig(path=str(path), **kw)


def test_folder_is_split_stratified_and_streams_real_pixels(sample_dir):
    data = load_image_data(config(sample_dir), seed=7)
    assert data.class_names[0] == "Ankle_boot" and len(data.class_names) == 10
    assert data.image_shape == (28, 28, 1)
    assert sum(data.split_sizes().values()) == 1000
    assert data.split_sizes()["test"] == 100
    assert set(np.bincount(data.test.labels)) == {10}
    # The streamed pixels are the file's pixels, with the right label.
    image, label = next(data.test.to_dataset(data.image_shape).as_numpy_iterator())
    expected = np.asarray(Image.open(data.test.paths[0]))
    assert np.array_equal(image[..., 0], expected)
    assert label == data.test.labels[0]
    assert data.class_names[label] in data.test.paths[0]


def test_corrupt_image_is_an_error_naming_the_file(small_folder):
    bad = small_folder / "Bag" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError) as err:
        load_image_data(config(small_folder), seed=0)
    assert str(bad) in str(err.value)


def test_corrupt_image_skip_is_reported(small_folder):
    bad = small_folder / "Bag" / "broken.png"
    bad.write_bytes(b"garbage")
    data = load_image_data(config(small_folder, on_bad_file="skip"), seed=0)
    assert [s["path"] for s in data.skipped_files] == [str(bad)]
    assert sum(data.split_sizes().values()) == 36


def test_one_class_folder_is_an_error(tmp_path):
    (tmp_path / "only").mkdir()
    with pytest.raises(DataError, match="one subfolder per class"):
        load_image_data(config(tmp_path), seed=0)


def test_npz_with_its_own_test_part(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=rng.integers(0, 255, (60, 8, 8), dtype=np.uint8), y_train=np.repeat(["a", "b", "c"], 20),
             x_test=rng.integers(0, 255, (9, 8, 8), dtype=np.uint8), y_test=np.repeat(["a", "b", "c"], 3))
    data = load_image_data(config(path), seed=0)
    assert data.class_names == ["a", "b", "c"]
    assert data.split_sizes() == {"train": 54, "val": 6, "test": 9}
    assert data.split_method.startswith("provided test part")


def test_npz_with_wrong_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, pixels=np.zeros((2, 4, 4)))
    with pytest.raises(DataError, match=r"Found: \['pixels'\]"):
        load_image_data(config(path), seed=0)


def test_test_labels_unknown_to_training(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.zeros((6, 4, 4), np.uint8), y_train=[0, 1, 0, 1, 0, 1],
             x_test=np.zeros((1, 4, 4), np.uint8), y_test=[7])
    with pytest.raises(DataError, match="never occur"):
        load_image_data(config(path), seed=0)


def test_idx_reader_rejects_bad_magic(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\x12\x34\x56\x78rest")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(path)


@pytest.mark.skipif(not FASHION_MNIST.exists(), reason="needs the Debian package dataset-fashion-mnist")
def test_fashion_mnist_idx_uses_its_own_test_part():
    data = load_image_data(config(FASHION_MNIST, max_examples=600), seed=0)
    assert data.split_sizes()["test"] == 10_000
    assert len(data.train) == 600 and len(data.val) == 6000
    assert data.image_shape == (28, 28, 1)
    assert np.bincount(data.test.labels).tolist() == [1000] * 10
