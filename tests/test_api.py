from pathlib import Path

import numpy as np

import automl
from tests.helpers import sample_arrays


def test_fit_on_arrays_returns_a_usable_result(sample_dir, tmp_path):
    images, labels = sample_arrays(sample_dir, per_class=60)
    result = automl.fit((images, labels), task="image_classification", output=str(tmp_path / "run"),
                        search={"max_trials": 1, "epochs": 2, "families": ["small_cnn"]},
                        finetune={"epochs": 8}, export={"quantizations": ["float32"]})
    assert result.report["status"] == "succeeded"
    assert result.class_names == ["Bag", "Sneaker", "Trouser"]
    probs = result.predict(images[:5])
    assert probs.shape == (5, 3) and np.allclose(probs.sum(-1), 1, atol=1e-4)
    metrics = result.evaluate()
    assert metrics["accuracy"] == result.report["test_metrics"]["accuracy"] > 0.5
    rows = result.export(tmp_path / "bundle", quantization="int8")
    int8 = next(r for r in rows if r.get("quantization") == "int8")
    assert (tmp_path / "bundle" / "export" / "model_int8.tflite").exists()
    assert int8["vs_keras"]["agreement"] > 0.8


_TWO_FITS = """
import json, sys
import numpy as np
import automl
from PIL import Image

folder, images = sys.argv[1], sys.argv[2:]
tiny = dict(search={"max_trials": 1, "epochs": 1, "families": ["small_cnn"]}, finetune={"epochs": 2},
            export={"quantizations": ["float32"], "formats": ["tflite"]})
first = automl.fit(folder, task="image_classification", **tiny)
second = automl.fit(folder, task="image_classification", verbose=0, **tiny)
pixels = np.stack([np.asarray(Image.open(path)) for path in images])
reopened = automl.load(first.out_dir)
board = first.leaderboard(baselines=False)
json.dump({"dirs": [str(first.out_dir), str(second.out_dir)], "first": first.predict(pixels).tolist(),
           "reopened": reopened.predict(pixels).tolist(), "same_report": reopened.report == first.report,
           "trials": len(board), "top": board.iloc[0]["trial"] if hasattr(board, "iloc") else board[0]["trial"]},
          open("result.json", "w"))
"""


def test_fit_is_quiet_gives_each_call_its_run_directory_and_load_reopens_it(sample_dir, tmp_path):
    """Captured at the file descriptors, as a notebook's cell output would: automl's progress lines and
    no line TensorFlow, absl or LiteRT writes on its own; `verbose=0` prints nothing at all."""
    import json
    import subprocess
    import sys

    from automl.quiet import is_native_log
    from tests.conftest import REPO
    from tests.helpers import sample_folder

    folder = sample_folder(sample_dir, tmp_path / "images", 40)
    images = [str(p) for p in sorted((folder / "Bag").glob("*.png"))[:3] + sorted((folder / "Trouser").glob("*.png"))[:3]]
    done = subprocess.run([sys.executable, "-c", _TWO_FITS, str(folder), *images], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert [line for line in lines if is_native_log(line)] == []
    assert not [line for line in lines if "tensorflow" in line.lower() or "oneDNN" in line], lines
    assert any("search" in line and "trial" in line for line in done.stderr.splitlines())  # verbose=1: progress
    runs = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "runs").iterdir())
    assert runs == ["runs/image_classification", "runs/image_classification-2"]
    # The second fit said nothing: all the progress lines come from the first.
    assert sum("run       image_classification" in line for line in done.stderr.splitlines()) == 1
    result = json.loads((tmp_path / "result.json").read_text())
    assert [Path(d).name for d in result["dirs"]] == ["image_classification", "image_classification-2"]
    np.testing.assert_allclose(result["reopened"], result["first"], atol=1e-5)
    assert result["same_report"] and result["trials"] == 1 and result["top"].startswith("small_cnn/")
