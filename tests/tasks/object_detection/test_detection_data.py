"""Detection data at the model's input size: boxes relative to the image, whole images per part, the
input size from the smallest boxes."""

import numpy as np
import pytest

from automl.tasks.object_detection.config import DetectionData
from automl.tasks.object_detection.data import load_detection_data
from tests.conftest import FASHION_MNIST, NUCLEI_IMAGE
from tests.detection_data import fashion_scenes, nuclei_tiles


def _config(path, **data):
    return DetectionData(path=str(path), **data)


@pytest.mark.skipif(not FASHION_MNIST.exists(), reason="needs the Debian package dataset-fashion-mnist")
def test_scenes_load_resized_with_their_boxes_and_split_by_image(tmp_path):
    root = fashion_scenes(tmp_path / "scenes", 60, seed=1)
    data = load_detection_data(_config(root, split={"val": 0.2, "test": 0.2}), seed=0)
    assert data.layout == "yolo" and data.num_classes == 10 and data.class_names[9] == "Ankle_boot"
    sizes = data.split_sizes()  # stratified by each image's rarest class: near 36/12/12
    assert sum(sizes.values()) == 60 and abs(sizes["val"] - 12) <= 2 and abs(sizes["test"] - 12) <= 2
    names = [set(data.part(p).names) for p in ("train", "val", "test")]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    # Items of 20-56 px on 96-128 px canvases: the images' own size bounds the input.
    assert data.input_size == 128 and data.train.images.shape[1:] == (128, 128, 3)
    for part in ("train", "val", "test"):
        boxes, classes = data.part(part).boxes, data.part(part).classes
        real = classes >= 0
        assert (boxes[real] >= 0).all() and (boxes[real] <= 1).all()
        assert (boxes[real][:, 2] > boxes[real][:, 0]).all() and (boxes[real][:, 3] > boxes[real][:, 1]).all()
        assert real.sum(axis=1).min() >= 1 and (boxes[~real] == 0).all()
    # A box drawn on the resized pixels holds the item: brighter inside than the canvas's noise.
    image, box = data.train.images[0, ..., 0], data.train.boxes[0, 0] * 128
    inside = image[int(box[0]) + 1:int(box[2]) - 1, int(box[1]) + 1:int(box[3]) - 1]
    assert inside.max() > 100 and np.median(image) < 30


@pytest.mark.skipif(NUCLEI_IMAGE is None, reason="needs pip install --no-deps stardist tifffile")
def test_nuclei_tiles_read_as_coco_and_small_boxes_ask_for_a_larger_input(tmp_path):
    root = nuclei_tiles(tmp_path / "nuclei")
    data = load_detection_data(_config(root), seed=0)
    assert data.layout == "coco" and data.class_names == ["nucleus"]
    assert sum(data.split_sizes().values()) == 64
    assert data.input_size == 96  # 64-px tiles of 5-30 px nuclei: the smallest input auto allows
    assert "10th percentile" in data.input_size_why
    assert load_detection_data(_config(root, input_size=96), seed=0).input_size == 96
