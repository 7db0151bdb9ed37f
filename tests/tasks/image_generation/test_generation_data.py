"""Image generation reads what image classification reads, and images without labels too."""

import numpy as np
import pytest
from PIL import Image

from automl.config.loader import config_from_mapping
from automl.errors import DataError
from automl.tasks import get_task
from tests.conftest import SAMPLE


def load(path=".", arrays=None, **data):
    config = config_from_mapping({"task": "image_generation", "data": {"path": str(path), **data}})
    return get_task("image_generation").load_data(config, arrays=arrays)


def write_pngs(folder, count, size=(12, 10), mode="L"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        shape = (size[0], size[1]) if mode == "L" else (size[0], size[1], 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"img_{i}.png")


def test_class_folders_are_labelled():
    data = load(SAMPLE)
    assert data.labelled and data.num_classes == 10
    assert len(data.train) + len(data.val) + len(data.test) == 1000


def test_a_flat_folder_of_images_is_unlabelled_and_split_seeded(tmp_path):
    write_pngs(tmp_path / "shoes", 40, mode="RGB")
    (tmp_path / "shoes" / "notes.txt").write_text("not an image")
    data = load(tmp_path / "shoes", split={"val": 0.2, "test": 0.2})
    assert not data.labelled and data.num_classes == 0 and data.class_names == ["images"]
    assert (len(data.train), len(data.val), len(data.test)) == (24, 8, 8)
    assert data.image_shape == (12, 10, 3)
    again = load(tmp_path / "shoes", split={"val": 0.2, "test": 0.2})
    assert again.test.paths == data.test.paths


def test_a_broken_image_in_a_flat_folder_is_named_or_skipped(tmp_path):
    write_pngs(tmp_path / "faces", 60)
    (tmp_path / "faces" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        load(tmp_path / "faces")
    data = load(tmp_path / "faces", on_bad_file="skip")
    assert len(data.train) + len(data.val) + len(data.test) == 60
    assert data.skipped_files[0]["path"].endswith("broken.png")


def test_images_only_npz_and_arrays_are_unlabelled(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (60, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "x.npz", x_train=images, x_test=images[:6])
    data = load(tmp_path / "x.npz")
    assert not data.labelled and len(data.test) == 6 and data.image_shape == (8, 8, 1)
    from_arrays = load(arrays=images)
    assert not from_arrays.labelled and len(from_arrays.train) + len(from_arrays.val) + len(from_arrays.test) == 60


def test_labels_can_be_ignored():
    data = load(SAMPLE, use_labels=False)
    assert not data.labelled and set(np.unique(data.train.labels)) == {0}


def test_too_few_images_name_the_source(tmp_path):
    write_pngs(tmp_path / "two", 2)
    with pytest.raises(DataError, match="leave the .* part empty"):
        load(tmp_path / "two")


def test_too_few_images_to_score_samples_are_refused_before_training(tmp_path):
    """Samples are scored by each real image's 5th nearest neighbour: a part of 5 cannot be."""
    write_pngs(tmp_path / "few", 50)  # 5 validation and 5 test images
    with pytest.raises(DataError, match=r"few: the val part has 5 image\(s\); .* at least 6"):
        load(tmp_path / "few")
