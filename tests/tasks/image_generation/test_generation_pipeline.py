"""A whole image generation run on the committed Fashion-MNIST sample, then the bundle alone."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import automl
from tests.conftest import SAMPLE
from tests.helpers import flex_ops_in

# The whole GAN pipeline takes about 3 minutes of CI's 20: run with `-m slow`. The default run keeps
# GAN training (test_gan.py) and the dcgan family's train/export/LiteRT contract.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gan") / "run"
    result = automl.fit(
        str(SAMPLE), task="image_generation",
        search={"max_trials": 1, "epochs": 12, "hyperparameters": {"base_filters": 32, "latent_dim": 32,
                                                                   "conditional": True}},
        finetune={"epochs": 12, "patience": 12},
        quality={"feature_epochs": 4, "samples": 150},
        export={"quantizations": ["float32", "float16", "int8"], "representative_examples": 64},
        output=str(out))
    return result


def test_report_scores_samples_against_real_images_and_its_scale(gan_run):
    report = gan_run.report
    metrics = report["test_metrics"]
    assert {"frechet_distance", "untrained_frechet_distance", "floor_frechet_distance", "kid", "precision",
            "recall", "density", "coverage", "class_shares", "mean_confidence", "class_agreement"} <= set(metrics)
    # Trained for 240 steps, the samples are far closer to the real images than the untrained
    # generator's noise (measured: 52 against 108 on 100 test images).
    assert metrics["frechet_distance"] < 0.6 * metrics["untrained_frechet_distance"], metrics
    assert metrics["floor_frechet_distance"] < metrics["frechet_distance"]
    assert len(metrics["class_shares"]) == 10 and sum(metrics["class_shares"]) == pytest.approx(1.0)
    html = (gan_run.out_dir / "report.html").read_text()
    for title in ("Generated samples", "Samples after each epoch", "validation Frechet distance",
                  "Share of generated samples per class", "Memorization check"):
        assert title in html, title
    network = report["before_search"]["feature_network"]
    assert network["kind"] == "classifier" and network["test_accuracy"] > 0.5
    assert report["inference"]["model"] == "generator"


def test_the_generator_exports_and_matches_keras_on_litert(gan_run):
    rows = {r["quantization"]: r for r in gan_run.report["exports"] if r["format"] == "tflite"}
    assert rows["float32"]["vs_keras"]["max_abs_error"] < 1e-4, rows["float32"]
    assert flex_ops_in(rows["float32"]) == [] and "TRANSPOSE_CONV" in rows["float32"]["ops"]
    assert rows["float16"]["vs_keras"]["max_abs_error"] < 0.05
    assert "frechet_distance" in rows["float16"]["test_metrics"]
    meta = json.loads((gan_run.out_dir / "export" / "metadata.json").read_text())
    assert meta["inputs"]["latent"]["shape"] == [None, 32] and meta["inputs"]["class_id"]["labels"]
    assert "to_pixels" in meta["output"]


def test_the_generator_files_name_their_inputs_and_output_and_describe_them(gan_run):
    """Apps run a generator by `get_signature_runner()`: its inputs and output by name, their
    meaning in the file's metadata (the class names packed in)."""
    from ai_edge_litert.interpreter import Interpreter

    from automl.app_metadata.packing import read_metadata

    path = gan_run.out_dir / "export" / "model_float32.tflite"
    interpreter = Interpreter(model_path=str(path))
    signature = interpreter.get_signature_list()["serving_default"]
    assert sorted(signature["inputs"]) == ["class_id", "latent"] and signature["outputs"] == ["images"]
    runner = interpreter.get_signature_runner("serving_default")
    images = runner(latent=np.zeros((1, 32), np.float32), class_id=np.array([[3]], np.int32))["images"]
    assert images.shape == (1, 28, 28, 1) and -1 <= images.min() <= images.max() <= 1
    described, files = read_metadata(path.read_bytes())
    subgraph = described["subgraph_metadata"][0]
    file_order = [d["name"].split("serving_default_")[-1].split(":")[0] for d in interpreter.get_input_details()]
    assert [t["name"] for t in subgraph["input_tensor_metadata"]] == file_order
    assert subgraph["output_tensor_metadata"][0]["name"] == "images"
    labels = json.loads((gan_run.out_dir / "export" / "metadata.json").read_text())["inputs"]["class_id"]["labels"]
    assert files["labels.txt"].decode().split("\n")[:-1] == labels


def test_generate_gives_uint8_images_of_the_data_shape(gan_run):
    images = gan_run.generate(6, labels=np.arange(6))
    assert images.dtype == np.uint8 and images.shape == (6, 28, 28, 1)
    assert not np.array_equal(images, gan_run.generate(6, seed=1, labels=np.arange(6)))


def test_predict_writes_a_sample_grid_without_tensorflow(gan_run, tmp_path):
    grid = tmp_path / "grid.png"
    code = ("import sys; from automl.cli import main; "
            f"code = main(['predict', {str(gan_run.out_dir)!r}, 'Sneaker', 'Bag', '--samples', '16', "
            f"'--out', {str(grid)!r}, '--quantization', 'float32']); "
            "assert 'tensorflow' not in sys.modules, 'predict imported TensorFlow'; sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'Sneaker': 8" in done.stdout and "'Bag': 8" in done.stdout
    assert Image.open(grid).size == (4 * 28 + 3 * 2, 4 * 28 + 3 * 2)


def test_predict_without_class_names_shows_every_class_one_per_column(gan_run, tmp_path):
    grid = tmp_path / "grid.png"
    done = subprocess.run([sys.executable, "-m", "automl", "predict", str(gan_run.out_dir), "--samples", "12",
                           "--out", str(grid), "--quantization", "float32"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    classes = len(gan_run.class_names)
    assert f"'{gan_run.class_names[0]}': 2" in done.stdout and f"'{gan_run.class_names[-1]}': 1" in done.stdout
    assert Image.open(grid).size == (classes * 28 + (classes - 1) * 2, 2 * 28 + 2)


def test_automl_export_of_a_generation_run_makes_the_same_bundle(gan_run, tmp_path):
    """It crashed ('NoneType' object has no attribute 'network') and left a half-made export-2: the
    feature network the scores need is read back from the run, and the files land whole."""
    from automl.reexport import reexport

    bundle = reexport(gan_run.out_dir, out=tmp_path / "again")
    run_files = sorted(p.name for p in (gan_run.out_dir / "export").iterdir())
    assert sorted(p.name for p in bundle.iterdir() if p.name != "report.json") == run_files
    again = json.loads((bundle / "report.json").read_text())
    frechet = {r["quantization"]: r["test_metrics"]["frechet_distance"] for r in again["exports"]
               if r["format"] == "tflite"}
    ran = {r["quantization"]: r["test_metrics"]["frechet_distance"] for r in gan_run.report["exports"]
           if r["format"] == "tflite"}
    assert frechet == pytest.approx(ran, rel=1e-3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_the_report_reads_well_in_chromium(gan_run):
    from tests.report_browser import assert_report_reads_well

    assert_report_reads_well(gan_run.out_dir, "image_generation", ("Test metrics",))


def test_the_docs_predict_commands_run_as_written(gan_run, tmp_path):
    from tests.docs_commands import run_page_commands

    run_page_commands("tasks/image_generation.md", gan_run.out_dir, tmp_path)
    assert (tmp_path / "grid.png").exists() and (tmp_path / "shoes.png").exists()
