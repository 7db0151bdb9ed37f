import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "fashion_mnist_sample"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def small_folder(tmp_path) -> Path:
    """Three classes, 12 real images each, copied from the shipped sample."""
    import shutil

    for name in ("Bag", "Sneaker", "Trouser"):
        target = tmp_path / "images" / name
        target.mkdir(parents=True)
        for path in sorted((SAMPLE / name).glob("*.png"))[:12]:
            shutil.copy(path, target / path.name)
    return tmp_path / "images"
