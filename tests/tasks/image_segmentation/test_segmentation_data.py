"""Image/mask pairs: alignment through tiling and augmentation, leak-free splits, bad input."""

import numpy as np
import pytest
from PIL import Image

from automl.config.loader import config_from_mapping
from automl.errors import DataError
from automl.tasks.image_segmentation.data import load_segmentation_data
from automl.tasks.image_segmentation.task import joint_augmenter
from tests.conftest import NUCLEI_IMAGE, NUCLEI_MASK, nuclei_arrays


def data_config(path, **data):
    return config_from_mapping({"task": "image_segmentation", "data": {"path": str(path), **data}}).data


def nuclei(**data):
    if not NUCLEI_IMAGE:
        pytest.skip("needs pip install --no-deps stardist tifffile")
    cfg = data_config(NUCLEI_IMAGE, mask_path=str(NUCLEI_MASK), instance_masks=True, **data)
    return load_segmentation_data(cfg, seed=42)


def test_every_tile_matches_the_image_and_mask_at_its_box():
    image, mask = nuclei_arrays()
    data = nuclei(tile_size=64, tile_overlap=48)
    assert data.class_names == ["background", "foreground"]
    for part in ("train", "val", "test"):
        tiles = data.part(part)
        assert len(tiles) > 0
        for pixels, labels, box in zip(tiles.images, tiles.masks, tiles.boxes):
            np.testing.assert_array_equal(pixels[..., 0], image[box.top:box.bottom, box.left:box.right])
            np.testing.assert_array_equal(labels, mask[box.top:box.bottom, box.left:box.right] != 0)


def test_one_large_image_is_split_into_regions_and_no_tile_crosses_parts():
    data = nuclei(tile_size=64, tile_overlap=48)
    assert data.split_method.startswith("by region")
    assert sum(len(r) for r in data.regions.values()) == 16
    boxes = {part: data.part(part).boxes for part in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not any(x.overlaps(y) for x in boxes[a] for y in boxes[b]), (a, b)
    # val and test tiles count each pixel once
    for part in ("val", "test"):
        covered = sum((b.bottom - b.top) * (b.right - b.left) for b in boxes[part])
        area = sum((r.bottom - r.top) * (r.right - r.left) for r in data.regions[part])
        assert covered == area


def test_the_split_depends_on_the_seed_only():
    first, again = nuclei(tile_size=64), nuclei(tile_size=64)
    assert first.regions == again.regions


def test_many_images_are_split_whole(tmp_path):
    rng = np.random.default_rng(0)
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for i in range(12):
        mask = (rng.uniform(size=(40, 48)) > 0.5).astype(np.uint8)
        Image.fromarray(mask * 200).save(tmp_path / "images" / f"cell{i}.png")
        Image.fromarray(mask).save(tmp_path / "masks" / f"cell{i}.png")
    data = load_segmentation_data(data_config(tmp_path, tile_size=32), seed=1)
    assert data.split_method.startswith("by image")
    owners = {part: {b.image for b in data.part(part).boxes} for part in ("train", "val", "test")}
    assert not owners["train"] & owners["val"] and not owners["train"] & owners["test"]
    assert not owners["val"] & owners["test"]
    # images are matched to their own masks (image = 200 x mask)
    tiles = data.train
    np.testing.assert_array_equal(tiles.images[..., 0], tiles.masks * 200.0)


def test_joint_augmentation_keeps_image_and_mask_aligned():
    import tensorflow as tf

    rng = np.random.default_rng(3)
    mask = rng.integers(0, 3, (8, 32, 32)).astype(np.int32)
    image = (mask * 50.0)[..., None].astype(np.float32)
    augment = joint_augmenter("flip_rotate", (0.0, 150.0))
    changed = 0
    for x, y in tf.data.Dataset.from_tensor_slices((image, mask)).repeat(4).map(augment):
        np.testing.assert_array_equal(x.numpy()[..., 0], y.numpy() * 50.0)
        changed += not any(np.array_equal(y.numpy(), m) for m in mask)
    assert changed > 0  # it does transform


def write_pair(root, name, image, mask):
    (root / "images").mkdir(exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    Image.fromarray(image).save(root / "images" / f"{name}.png")
    Image.fromarray(mask).save(root / "masks" / f"{name}.png")


def test_a_mask_of_another_size_names_the_file(tmp_path):
    write_pair(tmp_path, "a", np.zeros((64, 64), np.uint8), np.zeros((64, 60), np.uint8))
    with pytest.raises(DataError, match=r"a\.png: mask is 60x64 .* is 64x64"):
        load_segmentation_data(data_config(tmp_path), seed=0)


def test_an_image_without_a_mask_names_the_file(tmp_path):
    write_pair(tmp_path, "a", np.zeros((64, 64), np.uint8), np.zeros((64, 64), np.uint8))
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "images" / "lonely.png")
    with pytest.raises(DataError, match=r"without a mask .*lonely\.png"):
        load_segmentation_data(data_config(tmp_path), seed=0)


def test_a_value_outside_the_class_table_names_the_file_and_value(tmp_path):
    mask = np.zeros((64, 64), np.uint8)
    mask[5:9, 5:9] = 7
    write_pair(tmp_path, "a", np.zeros((64, 64), np.uint8), mask)
    with pytest.raises(DataError, match=r"masks/a\.png: mask value\(s\) \[7\] outside the class table"):
        load_segmentation_data(data_config(tmp_path, class_names=["bg", "cell"]), seed=0)
    table = [{"name": "bg", "value": 0}, {"name": "cell", "value": 255}]
    with pytest.raises(DataError, match=r"\[7\] outside the class table \(bg=0; cell=255\)"):
        load_segmentation_data(data_config(tmp_path, classes=table), seed=0)


def test_colour_masks_map_through_the_class_table(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        classes = rng.integers(0, 3, (96, 96))
        palette = np.array([[0, 0, 0], [255, 0, 0], [0, 128, 255]], np.uint8)
        write_pair(tmp_path, f"x{i}", (classes * 60).astype(np.uint8), palette[classes])
    table = [{"name": "void", "color": [0, 0, 0]}, {"name": "red", "color": [255, 0, 0]},
             {"name": "sky", "color": [0, 128, 255]}]
    data = load_segmentation_data(data_config(tmp_path, classes=table, tile_size=32), seed=0)
    assert data.class_names == ["void", "red", "sky"]
    np.testing.assert_array_equal(data.train.images[..., 0], data.train.masks * 60.0)
    with pytest.raises(DataError, match="colour channels; give data.classes"):
        load_segmentation_data(data_config(tmp_path), seed=0)


def test_npz_needs_images_and_masks(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((2, 32, 32)), labels=np.zeros(2))
    with pytest.raises(DataError, match=r"d\.npz: expected arrays named images and masks"):
        load_segmentation_data(data_config(path), seed=0)


def test_tile_size_must_be_a_multiple_of_32(tmp_path):
    from automl.errors import ConfigError

    with pytest.raises(ConfigError, match="tile_size.*multiple of 32"):
        data_config(tmp_path, tile_size=50)
