"""Many series in one file: long format (an id column) and wide (a column per series), of different
lengths and start dates, trained as one model; metrics per series and their mean; `automl predict`
on a history of several ids.

Data: vega_datasets' US employment by sector (BLS, monthly 2006-2015) and its stock prices (five
symbols, Google's starting four years later), read from the package's files."""

import csv
import json

import numpy as np
import pytest

from automl.config.loader import config_from_mapping
from automl.errors import DataError
from automl.tasks.time_series_forecasting.task import Forecasting
from automl.tasks.time_series_forecasting.windows import origins
from tests.conftest import EMPLOYMENT, STOCKS, employment_long

pytestmark = pytest.mark.skipif(EMPLOYMENT is None, reason="needs pip install --no-deps vega_datasets")

SECTORS = ["nonfarm", "private", "goods_producing", "service_providing", "construction", "manufacturing"]


def _load(**data):
    return Forecasting().load_data(config_from_mapping({"task": "time_series_forecasting",
                                                        "data": {"horizon": 12, **data}}))


def test_a_long_file_is_many_series_each_split_on_its_own_and_no_window_crosses_two(tmp_path):
    data = _load(path=str(employment_long(tmp_path / "long.csv", SECTORS)))
    assert data.id_column == "sector" and [s.id for s in data.segments] == SECTORS
    assert [s.end - s.start for s in data.segments] == [120 - 5 * i for i in range(6)]
    for segment in data.segments:  # each series' test part is its own last steps, at least a horizon
        assert segment.end - segment.val_end >= 12 and segment.val_end - segment.train_end >= 12
        assert data.times[segment.end - 1] == np.datetime64("2015-12-01")
    task = Forecasting()
    for part in ("train", "val", "test"):
        for lookback in task.lookbacks(data):
            starts = origins(data, part, lookback)
            series = data.series_of(starts)
            segment_start = np.array([s.start for s in data.segments])[series]
            segment_end = np.array([s.end for s in data.segments])[series]
            assert (starts - lookback >= segment_start).all() and (starts + 12 <= segment_end).all()
    profile = task.profile(data)
    assert profile["series"]["count"] == 6 and profile["series"]["steps"] == {"min": 95, "max": 120}
    assert "6 series of 95-120 steps" in task.report_view.describe_profile(profile)


def test_a_wide_file_reads_a_series_per_column_and_dates_as_people_write_them(tmp_path):
    wide = _load(path=str(EMPLOYMENT), wide=True, targets=SECTORS)
    assert wide.num_series == 6 and wide.targets == ["value"] and wide.id_column is None
    with pytest.raises(DataError, match="data.wide reads every value column as a series of its own"):
        _load(path=str(EMPLOYMENT), wide=True, targets=SECTORS[:3], covariates=["construction"])
    # Stock prices: "Jan 1 2000" dates, the id found by its name, Google's series four years shorter.
    stocks = _load(path=str(STOCKS), horizon=6)
    assert stocks.id_column == "symbol" and stocks.num_series == 5
    lengths = {s.id: s.end - s.start for s in stocks.segments}
    assert lengths["GOOG"] == 68 and lengths["MSFT"] == 123
    with pytest.raises(DataError, match="data.missing: drop is for one series"):
        _load(path=str(STOCKS), horizon=6, missing="drop")
    with pytest.raises(DataError, match=r"data.id_column='ticker' is not a column. Columns: \['symbol', 'date', 'price'\]"):
        _load(path=str(STOCKS), horizon=6, id_column="ticker")
    # none: the file as one series, whose times then repeat (an error naming the rows).
    with pytest.raises(DataError, match="times are not in increasing order"):
        _load(path=str(STOCKS), horizon=6, id_column="none")


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    import automl

    folder = tmp_path_factory.mktemp("panel")
    result = automl.fit(str(employment_long(folder / "long.csv", SECTORS)), task="time_series_forecasting",
                        output=str(folder / "run"), data={"horizon": 12, "backtests": 2},
                        search={"families": ["tcn"], "max_trials": 1, "epochs": 3},
                        finetune={"epochs": 4}, export={"formats": ["tflite"], "quantizations": ["float32"]})
    return folder, result, json.loads((folder / "run" / "report.json").read_text())


def test_one_model_forecasts_every_series_with_metrics_per_series_and_their_mean(panel_run):
    _, _, report = panel_run
    metrics = report["test_metrics"]
    assert report["status"] == "succeeded" and metrics["series"] == 6 and set(metrics["per_series"]) == set(SECTORS)
    assert metrics["mase"] == pytest.approx(np.mean([m["mase"] for m in metrics["per_series"].values()]))
    assert all(m["windows"] >= 1 for m in metrics["per_series"].values())
    per_rule = report["baselines"]["rule_per_series"]
    assert set(per_rule["per_series"]) == set(SECTORS) and "rule_per_series" in report["baseline_notes"]
    # The network learned something for all six: the model beats every series' own rule on average.
    assert metrics["mase"] < per_rule["mase"]
    float32 = next(r for r in report["exports"] if r["quantization"] == "float32")
    assert float32["vs_keras"]["max_rel_error"] < 1e-3


def test_two_backtests_join_validation_in_choosing_what_ships_and_export_chooses_alike(panel_run, tmp_path):
    from automl.cli import main

    from automl.tasks.time_series_forecasting.backtests import cut_earlier, possible_folds
    from automl.tasks.time_series_forecasting.windows import origins

    folder, result, report = panel_run
    backtests, inference = report["backtests"], report["inference"]
    lookback = report["best"]["hyperparameters"]["lookback"]
    # As many of the two asked as keep half the training windows; 12 windows in each series a fold.
    folds = possible_folds(result._data, lookback, 2)
    assert folds >= 1 and backtests["folds"] == folds and backtests["epochs"] == 4
    assert backtests["why_no_more"] == ("2 asked (data.backtests; auto: at most 5)" if folds == 2 else
                                        f"a training part cut {folds + 1} horizon(s) earlier would keep less than "
                                        "50% of the model's training windows")
    assert backtests["windows"] == 12 * 6 * folds == sum(
        len(origins(cut_earlier(result._data, back), "val", lookback)) for back in range(1, folds + 1))
    assert inference["windows"] == inference["validation_windows"] + backtests["windows"]
    assert inference["backtest_folds"] == folds
    assert (folder / "run" / "finetune" / "backtests.json").exists()
    # automl export trains nothing: it chooses again from the evidence the run kept.
    assert main(["export", str(folder / "run"), "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "report.json").read_text())["inference"]
    assert again == inference


def test_automl_predict_forecasts_each_series_of_a_history_file(panel_run, capsys):
    from automl.cli import main

    folder, result, report = panel_run
    rows = list(csv.DictReader((folder / "long.csv").open()))
    history = folder / "history.csv"
    picked = [r for r in rows if r["sector"] in ("construction", "nonfarm")]
    history.write_text("sector,month,employees\n" + "".join(f"{r['sector']},{r['month']},{r['employees']}\n"
                                                            for r in picked))
    assert main(["predict", str(folder / "run"), str(history), "--quantization", "float32", "--json"]) == 0
    forecast = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["sector"] for f in forecast] == ["nonfarm"] * 12 + ["construction"] * 12  # in the file's order
    assert forecast[0]["time"] == forecast[12]["time"] == "2016-01-01T00:00:00"
    lookback = json.loads((folder / "run" / "export" / "metadata.json").read_text())["lookback"]
    construction = np.array([float(r["employees"]) for r in picked if r["sector"] == "construction"][-lookback:])
    expected = result.predict(construction[None, :])[0, :, 0]
    np.testing.assert_allclose([f["employees"] for f in forecast[12:]], expected, rtol=1e-5)
