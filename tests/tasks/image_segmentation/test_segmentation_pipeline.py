"""A whole run on the stardist nuclei image through the Python API, then the bundle on LiteRT."""

import json

import numpy as np
import pytest

import automl
from automl.cli import main
from tests.conftest import nuclei_arrays
from tests.helpers import flex_ops_in


@pytest.fixture(scope="module")
def nuclei_run(tmp_path_factory):
    image, mask = nuclei_arrays()
    out = tmp_path_factory.mktemp("nuclei") / "run"
    result = automl.fit(
        (image[None], mask[None]), task="image_segmentation",
        data={"instance_masks": True, "class_names": ["background", "nucleus"], "tile_size": 64,
              "tile_overlap": 32},
        search={"max_trials": 1, "epochs": 4,
                "hyperparameters": {"depth": 2, "base_filters": 8, "loss": "cross_entropy_dice"}},
        finetune={"epochs": 6, "patience": 6},
        export={"quantizations": ["float32", "int8"], "representative_examples": 32},
        output=str(out))
    return result, image, mask


def test_report_has_segmentation_metrics_and_beats_thresholding(nuclei_run):
    result, _, _ = nuclei_run
    report = result.report
    metrics = report["test_metrics"]
    assert {"per_class_iou", "mean_iou", "dice", "pixel_accuracy"} <= set(metrics)
    assert len(metrics["per_class_iou"]) == 2
    # Misaligned masks or tiles would leave the model near the majority-class baseline.
    otsu = report["baselines"]["otsu_threshold"]["per_class_iou"][1]
    assert metrics["per_class_iou"][1] > max(otsu, 0.6), (metrics["per_class_iou"], otsu)
    html = (result.out_dir / "report.html").read_text()
    assert "Per-class IoU" in html and "Test tiles: image, true mask, predicted mask" in html


def test_exports_run_on_litert_and_agree_with_keras(nuclei_run):
    result, _, _ = nuclei_run
    rows = {r["quantization"]: r for r in result.report["exports"] if r["format"] == "tflite"}
    assert rows["float32"]["vs_keras"]["agreement"] > 0.999
    assert flex_ops_in(rows["float32"]) == [] and "TRANSPOSE_CONV" in rows["float32"]["ops"]
    assert rows["int8"]["vs_keras"]["agreement"] > 0.95, rows["int8"]
    assert rows["int8"]["test_metrics"]["per_class_iou"][1] > 0.5


def test_mediapipe_image_segmenter_masks_match_litert_on_the_test_tiles(nuclei_run):
    """Each file in MediaPipe's ImageSegmenter (the Tasks API apps use), fed the test tiles as 8-bit
    RGB frames: its category mask against the same file's LiteRT argmax, foreground IoU."""
    pytest.importorskip("mediapipe", reason="pip install 'automl[mediapipe]'")
    from automl.app_metadata.packing import read_metadata
    from automl.mediapipe_tasks import segment_images
    from automl.verify import LiteRTModel

    result, _, _ = nuclei_run
    tiles, _ = result._task.eval_arrays(result._data, "test")
    assert tiles.shape[-1] == 3  # grey microscopy, RGB input: the model makes it grey itself
    for name in ("model_float32.tflite", "model_int8.tflite"):
        path = result.out_dir / "export" / name
        metadata, files = read_metadata(path.read_bytes())
        assert files["labels.txt"] == b"background\nnucleus\n"
        assert metadata["subgraph_metadata"][0]["input_tensor_metadata"][0]["content"]["content_properties"][
            "ImageProperties"]["color_space"] == "RGB"
        litert = LiteRTModel(path).predict(tiles).argmax(-1) == 1
        in_mediapipe = segment_images(path, tiles) == 1
        iou = (litert & in_mediapipe).sum() / max((litert | in_mediapipe).sum(), 1)
        assert iou >= 0.99, (name, iou)
    rows = [r for r in result.report["exports"] if r["format"] == "tflite"]
    assert all(r["mediapipe"]["task"] == "ImageSegmenter" and r["mediapipe"]["vs_keras"]["agreement"] > 0.95
               for r in rows), rows
    assert LiteRTModel(result.out_dir / "export" / "model_int8.tflite").input["dtype"].__name__ == "uint8"


def test_the_model_cards_javascript_segments_a_tile_in_chromium_as_litert_does(nuclei_run):
    """The card's web code as printed, in MediaPipe Tasks for the web in headless Chromium, on a test
    tile shown in an <img>: its pixels per class within 1% of the tile of the file's LiteRT mask."""
    import re

    from PIL import Image

    from automl.verify import LiteRTModel
    from tests.mediapipe_web import card_javascript, run_in_chromium

    result, _, _ = nuclei_run
    export = result.out_dir / "export"
    snippet = card_javascript((export / "README.md").read_text())
    picked = re.search(r'modelAssetPath: "(model_\w+\.tflite)"', snippet).group(1)
    tiles, _ = result._task.eval_arrays(result._data, "test")
    tiles = np.clip(np.rint(tiles), 0, 255).astype(np.uint8)
    litert = LiteRTModel(export / picked).predict(tiles.astype(np.float32)).argmax(-1)
    most = int((litert == 1).reshape(len(tiles), -1).sum(1).argmax())  # the tile with the most nuclei
    tile = tiles[most]
    Image.fromarray(tile).save(export / "tile.png")
    try:
        printed = run_in_chromium(snippet, export, '<img id="tile" src="tile.png">')
    finally:
        (export / "tile.png").unlink()
    in_browser = {int(k): v for k, v in json.loads(printed[-1]).items()}
    foreground = int((litert[most] == 1).sum())
    assert sum(in_browser.values()) == tile.shape[0] * tile.shape[1] and foreground > 0
    assert abs(in_browser.get(1, 0) - foreground) <= 0.01 * tile.shape[0] * tile.shape[1], (in_browser, foreground)


def test_full_image_prediction_is_stitched_from_tiles(nuclei_run):
    result, image, mask = nuclei_run
    probs = result.predict(image[None])
    assert probs.shape == (1, 512, 512, 2)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-4)
    data = result._data
    predicted = probs[0].argmax(-1)
    # On the held-out regions the stitched mask is as good as the tiles were.
    hits = union = 0
    for box in data.regions["test"]:
        truth = mask[box.top:box.bottom, box.left:box.right] != 0
        guess = predicted[box.top:box.bottom, box.left:box.right] == 1
        hits, union = hits + (truth & guess).sum(), union + (truth | guess).sum()
    tile_iou = result.report["test_metrics"]["per_class_iou"][1]
    assert hits / union > tile_iou - 0.05


def test_automl_predict_writes_a_full_size_mask(nuclei_run, tmp_path, capsys):
    import tifffile
    from PIL import Image

    result, image, _ = nuclei_run
    crop = image[:200, :300]
    path = tmp_path / "cells.tif"
    tifffile.imwrite(path, crop)
    assert main(["predict", str(result.out_dir), str(path), "--out-dir", str(tmp_path), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    written = np.asarray(Image.open(row["mask"]))
    assert written.shape == (200, 300) and set(np.unique(written)) <= {0, 1}
    keras_mask = result.predict(crop[None])[0].argmax(-1)
    assert np.mean(written == keras_mask) > 0.97
    assert set(row["class_share"]) == {"background", "nucleus"}


def test_the_report_reads_well_in_chromium(nuclei_run):
    from tests.report_browser import assert_report_reads_well

    result, _, _ = nuclei_run
    assert_report_reads_well(result.out_dir, "image_segmentation", ("Test metrics",))


def test_the_docs_predict_commands_run_as_written(nuclei_run, tmp_path):
    import tifffile

    from tests.docs_commands import run_page_commands

    result, image, _ = nuclei_run
    tifffile.imwrite(tmp_path / "cells.tif", image[:160, :200])
    run_page_commands("tasks/image_segmentation.md", result.out_dir, tmp_path)
    assert (tmp_path / "masks" / "cells_mask.png").exists()
