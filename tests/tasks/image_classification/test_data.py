import gzip

import numpy as np
import pytest
from PIL import Image

from automl.tasks.image_classification.config import ImageClassificationData as DataConfig
from automl.tasks.image_classification.data import load_image_data, read_idx
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


def _shipped_layout(root, sample_dir, parts=(("train", slice(0, 20)), ("test", slice(20, 30)))):
    """train/ and test/ (or others) of real class folders, as many data sets ship."""
    import shutil

    for part, files in parts:
        for name in ("Bag", "Sneaker", "Trouser"):
            target = root / part / name
            target.mkdir(parents=True)
            for path in sorted((sample_dir / name).glob("*.png"))[files]:
                shutil.copy(path, target / path.name)
    return root


def test_train_and_test_folders_are_the_split_not_two_classes(tmp_path, sample_dir):
    root = _shipped_layout(tmp_path / "ds", sample_dir)
    (root / "train" / ".ipynb_checkpoints").mkdir()  # hidden: not a class
    (root / "train" / "Bag" / ".DS_Store").write_bytes(b"\0")  # hidden: not an image
    data = load_image_data(config(root), seed=0)
    assert data.class_names == ["Bag", "Sneaker", "Trouser"]
    assert data.split_sizes() == {"train": 54, "val": 6, "test": 30}
    assert data.split_method.startswith("the folder's own train/test parts")
    assert all("/test/" in p for p in data.test.paths) and all("/train/" in p for p in data.train.paths + data.val.paths)
    # Each test image keeps the label of its class folder.
    assert all(data.class_names[label] in path for label, path in zip(data.test.labels, data.test.paths))


def test_a_validation_folder_is_used_too(tmp_path, sample_dir):
    root = _shipped_layout(tmp_path / "ds", sample_dir, (("train", slice(0, 20)), ("validation", slice(20, 25)),
                                                         ("test", slice(25, 30))))
    data = load_image_data(config(root), seed=0)
    assert data.split_sizes() == {"train": 60, "val": 15, "test": 15}
    assert all("/validation/" in p for p in data.val.paths)


def test_a_test_class_without_training_images_is_named(tmp_path, sample_dir):
    root = _shipped_layout(tmp_path / "ds", sample_dir)
    (root / "test" / "Coat").mkdir()
    with pytest.raises(DataError, match=r"test: class folder\(s\) Coat have no counterpart in .*train"):
        load_image_data(config(root), seed=0)


def test_empty_class_is_an_error_or_left_out_and_reported(small_folder):
    (small_folder / "Sandal").mkdir()
    with pytest.raises(DataError, match=r"Sandal: class folder holds no usable images"):
        load_image_data(config(small_folder), seed=0)
    data = load_image_data(config(small_folder, on_bad_file="skip"), seed=0)
    assert data.class_names == ["Bag", "Sneaker", "Trouser"]
    assert data.skipped_files == [{"path": str(small_folder / "Sandal"),
                                   "error": "class folder without usable images: class left out"}]


def test_only_files_tensorflow_decodes_are_accepted(small_folder):
    """A TIFF named .png passes Pillow; TensorFlow cannot decode it, so it must not reach a trial."""
    import tensorflow as tf

    fake = small_folder / "Bag" / "scan.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(fake, format="TIFF")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(fake.read_bytes())
    data = load_image_data(config(small_folder, on_bad_file="skip"), seed=0)
    assert [s["path"] for s in data.skipped_files] == [str(fake)] and "TIFF" in data.skipped_files[0]["error"]
    images, _ = data.train.to_numpy(data.image_shape)  # every accepted file decodes
    assert images.shape[1:] == (28, 28, 1)
