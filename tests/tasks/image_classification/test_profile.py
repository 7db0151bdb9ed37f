"""What the image profile tells the known-good configurations: symmetric classes (clothes) may be
flipped, digits may not; tiny images get slim models that keep their pixels."""

import numpy as np

from automl.families.small_cnn import SmallCNN
from automl.tasks.image_classification.data import ImageSplit
from automl.tasks.image_classification.task import flip_keeps_class
from tests.conftest import SAMPLE
from tests.helpers import sample_arrays


def digits_split():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return ImageSplit(labels=y, arrays=np.clip(x.reshape(-1, 8, 8, 1) * 16, 0, 255).astype(np.uint8))


def test_mirrored_clothes_stay_clothes_and_mirrored_digits_do_not():
    classes = tuple(sorted(p.name for p in SAMPLE.iterdir() if p.is_dir()))
    x, y = sample_arrays(SAMPLE, per_class=100, classes=classes)
    names = sorted(set(y))
    clothes = flip_keeps_class(ImageSplit(labels=np.array([names.index(v) for v in y]), arrays=x))
    digits = flip_keeps_class(digits_split())
    assert clothes >= 0.8 and digits <= 0.4, (clothes, digits)
    assert flip_keeps_class(ImageSplit(labels=np.array([0]), paths=["a.png"])) is None


def test_tiny_asymmetric_images_get_slim_models_without_flips():
    profile = {"image_size": [8, 8], "flip_keeps_class": 0.4, "split_sizes": {"train": 1437}}
    configs = SmallCNN().known_good(profile)
    assert all("flip" not in c["augmentation"] for c in configs)
    assert max(c["width"] for c in configs) <= 24
    clothes = SmallCNN().known_good({"image_size": [28, 28], "flip_keeps_class": 0.8,
                                     "split_sizes": {"train": 60_000}})
    # Many images train many epochs, where flips alone overfit a 32-wide net: erased squares go first.
    assert [c["augmentation"] for c in clothes] == ["flip_erase", "flip_shift"] and clothes[0]["width"] == 32
    letters = SmallCNN().known_good({"image_size": [28, 28], "flip_keeps_class": 0.3,
                                      "split_sizes": {"train": 60_000}})
    assert [c["augmentation"] for c in letters] == ["erase", "shift"]
