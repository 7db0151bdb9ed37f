"""The whole forecasting pipeline on CO2 through the Python API, and the phone's path.

A small budget (one TCN trial, a few epochs) still has to beat seasonal
naive; the bundle's metadata must take raw values to the model and back.
"""

import csv
import json

import numpy as np
import pytest

import automl
from automl.verify import LiteRTModel
from tests.conftest import CO2
from tests.helpers import flex_ops_in

pytestmark = pytest.mark.skipif(CO2 is None, reason="needs pip install --no-deps statsmodels")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    rows = list(csv.DictReader(CO2.open()))
    columns = {"date": [r["date"] for r in rows], "co2": [r["co2"] for r in rows]}
    out = tmp_path_factory.mktemp("co2")
    return automl.fit(
        columns, task="time_series_forecasting", output=str(out),
        data={"time_column": "date", "horizon": 52, "season": 52},
        search={"families": ["tcn"], "max_trials": 1, "epochs": 3,
                "hyperparameters": {"lookback": 104, "filters": 16}},
        finetune={"epochs": 4},
        export={"formats": ["tflite"], "quantizations": ["float32", "int8"]},
    )


def test_report_has_metrics_baselines_and_verified_exports(result):
    report = json.loads((result.out_dir / "report.json").read_text())
    assert report["status"] == "succeeded"
    keys = {"mae", "rmse", "smape", "mase"}
    assert keys <= set(report["test_metrics"]) and len(report["test_metrics"]["per_step"]["mae"]) == 52
    # The classic rules, and the steadier variant the model's linear map starts from, when it is one.
    classic = {"naive", "seasonal_naive", "seasonal_naive_drift"}
    own = set(report["baselines"]) - classic
    assert classic <= set(report["baselines"]) and len(own) <= 1
    assert all(name.startswith("seasonal_naive") and ("_avg" in name or "_level" in name) for name in own)
    assert all(keys <= set(m) for m in report["baselines"].values())
    assert report["test_metrics"]["mase"] < report["baselines"]["seasonal_naive"]["mase"]
    for row in report["exports"]:
        assert keys <= set(row["test_metrics"]) and "max_rel_error" in row["vs_keras"]
    float32 = next(r for r in report["exports"] if r["quantization"] == "float32")
    assert float32["vs_keras"]["max_rel_error"] < 1e-3 and flex_ops_in(float32) == []
    html = (result.out_dir / "report.html").read_text()
    assert "baseline/seasonal_naive_drift" in html and "Error by horizon step" in html


def test_metadata_takes_raw_values_to_the_model_and_back(result):
    """What a phone does with the bundle: scale with metadata.json, run LiteRT, unscale."""
    export = result.out_dir / "export"
    meta = json.loads((export / "metadata.json").read_text())
    lookback, horizon = meta["lookback"], meta["horizon"]
    rows = list(csv.DictReader(CO2.open()))
    raw = np.array([float(r["co2"]) for r in rows[-400:-400 + lookback]])  # a gap-free stretch of the test part
    x = ((raw - meta["input"]["mean"][0]) / meta["input"]["std"][0]).astype(np.float32)[None, :, None]
    y = LiteRTModel(export / "model_float32.tflite").predict(x)
    phone = y[0, :, 0] * meta["output"]["std"][0] + meta["output"]["mean"][0]
    ours = result.predict(raw[None, :])[0, :, 0]
    np.testing.assert_allclose(phone, ours, rtol=1e-5)
    assert phone.shape == (horizon,)
    assert np.abs(phone - raw[-1]).max() < 10  # a forecast near the series' level, in ppm


def test_automl_predict_forecasts_the_steps_after_a_history_file(result, tmp_path, capsys):
    from automl.cli import main

    rows = list(csv.DictReader(CO2.open()))[:-400 + 104]  # history ends inside the test part
    history = tmp_path / "history.csv"
    history.write_text("date,co2\n" + "".join(f"{r['date']},{r['co2']}\n" for r in rows))
    assert main(["predict", str(result.out_dir), str(history), "--quantization", "float32", "--json"]) == 0
    forecast = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    last = np.datetime64(f"{rows[-1]['date'][:4]}-{rows[-1]['date'][4:6]}-{rows[-1]['date'][6:]}")
    assert len(forecast) == 52 and np.datetime64(forecast[0]["time"]) == last + np.timedelta64(7, "D")
    raw = np.array([float(r["co2"]) for r in rows[-104:]])
    expected = result.predict(raw[None, :])[0, :, 0]
    np.testing.assert_allclose([f["co2"] for f in forecast], expected, rtol=1e-5)


def test_the_model_cards_signature_runner_snippet_runs_as_written(result):
    """The card's LiteRT code, run in the bundle's folder as a user would, reads the forecast by its
    name through the file's serving signature; the file's own metadata names and scales it."""
    import re
    import subprocess
    import sys

    from automl.app_metadata.packing import read_metadata

    export = result.out_dir / "export"
    card = (export / "README.md").read_text()
    snippet = re.search(r"## Running it on LiteRT from Python\n.*?```python\n(.*?)```", card, re.S).group(1)
    assert 'get_signature_runner("serving_default")' in snippet and '"window": np.zeros((1, 104, 1)' in snippet
    printed = subprocess.run([sys.executable, "-c", snippet], cwd=export, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert printed.stdout.startswith("{'forecast': (1, 52, 1)}")
    picked = re.search(r'model_path="(model_\w+\.tflite)"', snippet).group(1)

    meta = json.loads((export / "metadata.json").read_text())
    described, files = read_metadata((export / picked).read_bytes())
    subgraph = described["subgraph_metadata"][0]
    window, = subgraph["input_tensor_metadata"]
    forecast, = subgraph["output_tensor_metadata"]
    assert (window["name"], forecast["name"]) == ("window", "forecast") and files == {}
    normalization = window["process_units"][0]["options"]["NormalizationOptions"]
    assert normalization["mean"] == pytest.approx(meta["input"]["mean"])
    assert normalization["std"] == pytest.approx(meta["input"]["std"])
    assert "next 52 weekly steps of co2" in forecast["description"]


def test_the_report_reads_well_in_chromium(result):
    from tests.report_browser import assert_report_reads_well

    seen = assert_report_reads_well(result.out_dir, "time_series_forecasting", ("Test metrics",))
    assert "seasonal_naive" in seen["text"]


def test_the_docs_predict_commands_run_as_written(result, tmp_path):
    from tests.docs_commands import run_page_commands

    rows = list(csv.DictReader(CO2.open()))[-300:]
    (tmp_path / "history.csv").write_text("date,co2\n" + "".join(f"{r['date']},{r['co2']}\n" for r in rows))
    done = run_page_commands("tasks/time_series_forecasting.md", result.out_dir, tmp_path)
    assert len([line for line in done[0].stdout.splitlines() if line.strip()]) >= 52
