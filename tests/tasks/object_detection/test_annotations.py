"""COCO JSON, Pascal VOC and YOLO folders of the same sample read to the same boxes; bad boxes are named
with their file and line, all in one error."""

import json

import numpy as np
import pytest
from PIL import Image

from automl.errors import DataError
from automl.tasks.object_detection.annotations import find_layout, read_annotations

#: file, width, height, [(class name, x_min, y_min, x_max, y_max)] in pixels; b.png is a negative.
SAMPLE = [
    ("a.png", 64, 48, [("cat", 4.0, 6.0, 30.0, 40.0), ("dog", 33.5, 2.0, 63.0, 20.5)]),
    ("b.png", 50, 50, []),
    ("c.png", 80, 60, [("dog", 0.0, 0.0, 12.0, 9.0), ("dog", 70.0, 50.0, 80.0, 60.0), ("cat", 20, 20, 21, 22)]),
]
CLASSES = ["cat", "dog"]


def _images(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, width, height, _ in SAMPLE:
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(folder / name)


def write_coco(root):
    _images(root / "images")
    images, annotations = [], []
    for image_id, (name, width, height, boxes) in enumerate(SAMPLE, start=1):
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        for klass, x0, y0, x1, y1 in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "iscrowd": 0,
                                "category_id": 10 + CLASSES.index(klass), "bbox": [x0, y0, x1 - x0, y1 - y0]})
    categories = [{"id": 11, "name": "dog"}, {"id": 10, "name": "cat"}]  # ids, not list order, give the order
    (root / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                       "categories": categories}))
    return root


def write_voc(root):
    _images(root / "JPEGImages")
    (root / "Annotations").mkdir()
    for name, width, height, boxes in SAMPLE:
        objects = "".join(f"""
  <object>
    <name>{klass}</name><difficult>0</difficult>
    <bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox>
  </object>""" for klass, x0, y0, x1, y1 in boxes)
        (root / "Annotations" / name.replace(".png", ".xml")).write_text(f"""<annotation>
  <filename>{name}</filename>
  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>{objects}
</annotation>
""")
    return root


def write_yolo(root):
    _images(root / "images" / "train")
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    for name, width, height, boxes in SAMPLE:
        if not boxes:
            continue  # a negative has no label file
        lines = [f"{CLASSES.index(k)} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                 f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}" for k, x0, y0, x1, y1 in boxes]
        (root / "labels" / "train" / name.replace(".png", ".txt")).write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("write", [write_coco, write_voc, write_yolo])
def test_each_layout_reads_to_the_same_boxes_classes_and_negatives(tmp_path, write):
    root = write(tmp_path / "sample")
    annotations = read_annotations(root)
    assert annotations.layout == write.__name__.split("_")[1] == find_layout(root)
    assert annotations.class_names == CLASSES
    assert [image.path.name for image in annotations.images] == [name for name, *_ in SAMPLE]
    for image, (_, width, height, boxes) in zip(annotations.images, SAMPLE):
        assert (image.width, image.height) == (width, height)
        expected = np.array([box[1:] for box in boxes], dtype=np.float32).reshape(-1, 4)
        np.testing.assert_allclose(image.boxes, expected, atol=1e-3)  # YOLO's 6 decimals of 80 px
        assert [CLASSES[c] for c in image.classes] == [box[0] for box in boxes]
    assert annotations.box_count == 5


def test_bad_boxes_are_named_with_file_and_line_in_one_error(tmp_path):
    root = write_yolo(tmp_path / "sample")
    label = root / "labels" / "train" / "a.txt"
    label.write_text("0 0.5 0.5 0.2 0.2\n"
                     "7 0.5 0.5 0.2 0.2\n"  # no class 7
                     "1 0.5 0.5 0 0.2\n"  # zero width
                     "1 1.2 0.5 0.5 0.2\n"  # right edge at 1.45 of the width
                     "1 0.5 0.5\n")  # too few fields
    with pytest.raises(DataError) as caught:
        read_annotations(root)
    message = str(caught.value)
    assert "4 bad box(es)" in message
    for line, what in ((2, "class 7 is not in"), (3, "zero or negative area"), (4, "box x 60.8..92.8, y 19.2..28.8 is outside the 64x48 image"),
                       (5, "expected 'class x_centre")):
        assert f"{label}:{line}: {what}" in message


def test_a_voc_box_of_an_unlisted_class_and_a_coco_box_past_the_edge_are_named(tmp_path):
    voc = write_voc(tmp_path / "voc")
    with pytest.raises(DataError, match=r"c\.xml:\d+: class 'dog' is not in data\.class_names"):
        read_annotations(voc, class_names=["cat"])
    coco = write_coco(tmp_path / "coco")
    document = json.loads((coco / "annotations.json").read_text())
    document["annotations"][0]["bbox"] = [60, 4, 10, 10]  # to x 70 in a 64-wide image
    (coco / "annotations.json").write_text(json.dumps(document))
    with pytest.raises(DataError, match=r"annotations\[0\] \(id 1\), a\.png: box x 60\.\.70"):
        read_annotations(coco)


def test_a_folder_without_annotations_says_what_it_looked_for(tmp_path):
    _images(tmp_path / "pictures")
    with pytest.raises(DataError, match="Expected a COCO .json file"):
        read_annotations(tmp_path / "pictures")
