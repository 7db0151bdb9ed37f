"""A whole detection run on stardist's nuclei tiles (COCO layout) through the Python API: COCO metrics
beside the Otsu-components baseline, a file with decoding and suppression inside that LiteRT runs with
Keras's boxes, and `automl predict` listing and drawing boxes from the bundle alone."""

import json
import zipfile

import numpy as np
import pytest

import automl
from automl.cli import main
from automl.convert import quantized_ops_in
from automl.precision import cpu_has_bf16_tiles
from tests.conftest import NUCLEI_IMAGE
from tests.helpers import flex_ops_in

pytestmark = pytest.mark.skipif(not NUCLEI_IMAGE, reason="needs pip install --no-deps stardist")


@pytest.fixture(scope="module")
def nuclei_run(tmp_path_factory):
    from tests.detection_data import nuclei_tiles

    folder = nuclei_tiles(tmp_path_factory.mktemp("nuclei"))
    out = tmp_path_factory.mktemp("run") / "run"
    result = automl.fit(
        str(folder), task="object_detection",
        search={"families": ["retinanet"], "max_trials": 1, "epochs": 6,
                "hyperparameters": {"deepest_filters": 128, "fpn_filters": 64, "head_convs": 1,
                                    "batch_size": 16, "learning_rate": 2e-3}},
        finetune={"epochs": 14, "patience": 14},
        export={"quantizations": ["float32", "int8"]}, output=str(out))
    return result, folder


def test_the_report_scores_boxes_as_coco_does_beside_the_otsu_baseline(nuclei_run):
    result, _ = nuclei_run
    report = result.report
    metrics = report["test_metrics"]
    assert {"map", "ap50", "ap75", "per_class", "pr_curve_iou50"} <= set(metrics)
    assert set(metrics["per_class"]) == {"nucleus"}
    assert 0 <= metrics["map"] <= metrics["ap50"] <= 1
    # Boxes or anchors out of register would leave AP50 near zero.
    assert metrics["ap50"] > 0.3, metrics
    assert "otsu_components" in report["baselines"] and "Otsu" in report["baseline_notes"]["otsu_components"]
    profile = report["dataset"]
    assert profile["layout"] == "coco" and profile["class_names"] == ["nucleus"] and profile["input_size"] == 96
    # Trained in bfloat16 on a CPU with AMX tiles; evaluated and exported in float32 either way.
    assert report["runtime"]["precision_policy"] == ("mixed_bfloat16" if cpu_has_bf16_tiles() else "float32")
    with zipfile.ZipFile(result.out_dir / "export" / "model.keras") as saved:
        assert "mixed_" not in saved.read("config.json").decode()
    html = (result.out_dir / "report.html").read_text()
    assert "AP per class" in html and "Precision-recall at IoU 0.5" in html and "true boxes (green)" in html


def test_the_file_decodes_and_suppresses_inside_with_builtin_ops_and_litert_gives_kerass_boxes(nuclei_run):
    result, _ = nuclei_run
    row = next(r for r in result.report["exports"] if r.get("quantization") == "float32")
    assert flex_ops_in(row) == [] and "NON_MAX_SUPPRESSION_V5" in row["ops"]
    assert row["vs_keras"]["matched_share"] == 1.0 and row["vs_keras"]["min_matched_iou"] >= 0.99, row["vs_keras"]
    assert abs(row["test_metrics"]["ap50"] - result.report["test_metrics"]["ap50"]) < 1e-6
    metadata = json.loads((result.out_dir / "export" / "metadata.json").read_text())
    assert metadata["labels"] == ["nucleus"]
    assert metadata["output"]["names"] == ["detection_boxes", "detection_classes", "detection_scores", "num_detections"]


def test_the_int8_file_runs_the_network_in_int8_and_decodes_in_float_to_kerass_boxes(nuclei_run):
    """Decoding and suppression in int8 read one box as another (AP50 0.05 where Keras had 0.85): they
    stay in float, the network before them runs in int8, and the boxes are Keras's."""
    result, _ = nuclei_run
    row = next(r for r in result.report["exports"] if r.get("quantization") == "int8")
    assert not row.get("rejected"), row
    assert row["float_layers"] == ["raw_detections", "detections"]
    # What stayed float, read from the file: the suppression, and the top-k the quantizer's loop denied.
    assert {"NON_MAX_SUPPRESSION_V5", "TOPK_V2"} <= set(row["float_ops"]) and "CONV_2D" not in row["float_ops"]
    assert {"QUANTIZE", "DEQUANTIZE", "NON_MAX_SUPPRESSION_V5"} <= set(row["ops"]) and flex_ops_in(row) == []
    # Not one op of the decoding in int8 (a gather of class indices in int8 read class 6 as 5.99).
    content = (result.out_dir / "export" / "model_int8.tflite").read_bytes()
    assert quantized_ops_in(content, row["float_layers"]) == []
    assert row["vs_keras"]["matched_share"] >= 0.9 and row["vs_keras"]["mean_matched_iou"] >= 0.9, row["vs_keras"]


def test_automl_predict_lists_boxes_in_the_images_pixels_and_draws_them(nuclei_run, tmp_path, capsys):
    from PIL import Image

    result, folder = nuclei_run
    # The tile with the most nuclei, enlarged: boxes come back in the given image's own pixels.
    annotations = json.loads((folder / "annotations.json").read_text())
    counts = np.bincount([a["image_id"] for a in annotations["annotations"]])
    busiest = next(i for i in annotations["images"] if i["id"] == int(counts.argmax()))
    image = Image.open(folder / "images" / busiest["file_name"]).resize((128, 128))
    path = tmp_path / "cells.png"
    image.save(path)
    assert main(["predict", str(result.out_dir), str(path), "--min-score", "0.05", "--out-dir", str(tmp_path),
                 "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    boxes = [row for row in rows if row.get("class")]
    assert boxes and all(row["class"] == "nucleus" and 0 <= row["x"] <= 128 and 0 < row["w"] <= 128 for row in boxes)
    assert [row["score"] for row in boxes] == sorted((row["score"] for row in boxes), reverse=True)
    drawn = Image.open(rows[0]["drawn"])
    assert drawn.size == (128, 128)

    # The file alone, read through its metadata as MediaPipe reads it, finds the bundle's boxes.
    assert main(["predict", str(result.out_dir), str(path), "--quantization", "float32", "--json"]) == 0
    bundle = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    lone = str(result.out_dir / "export" / "model_float32.tflite")
    assert main(["predict", lone, str(path), "--json"]) == 0
    alone = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert alone and abs(len(alone) - len(bundle)) <= 1, (alone, bundle)
    for box in alone[:3]:  # the images are resized a little differently: the same boxes within 3 px
        assert any(other["class"] == box["class"] and max(abs(other[k] - box[k]) for k in "xywh") < 3.0
                   for other in bundle), (box, bundle)


def test_mediapipes_object_detector_loads_the_file_and_finds_kerass_boxes(nuclei_run):
    """The check verify runs in MediaPipe's ObjectDetector (the Tasks API apps use) over the test images:
    the file loads with its metadata (labels, four outputs), and every box Keras shows is found, of the
    same class, with an IoU of 0.99 or more at MediaPipe's whole-pixel resolution."""
    pytest.importorskip("mediapipe", reason="pip install 'automl[mediapipe]'")
    result, _ = nuclei_run
    row = next(r for r in result.report["exports"] if r.get("quantization") == "float32")
    found = row["mediapipe"]
    assert found["task"] == "ObjectDetector" and "error" not in found, found
    assert found["vs_keras"]["detections"] > 0, found
    assert found["vs_keras"]["matched_share"] == 1.0 and found["vs_keras"]["min_matched_iou"] >= 0.99, found


def test_the_report_reads_well_in_chromium(nuclei_run):
    from tests.report_browser import assert_report_reads_well

    result, _ = nuclei_run
    assert_report_reads_well(result.out_dir, "object_detection", ("Test metrics",))


def test_the_docs_predict_commands_run_as_written(nuclei_run, tmp_path):
    from PIL import Image

    from tests.docs_commands import run_page_commands

    result, folder = nuclei_run
    Image.open(sorted((folder / "images").iterdir())[0]).save(tmp_path / "cells.png")
    done = run_page_commands("tasks/object_detection.md", result.out_dir, tmp_path)
    assert (tmp_path / "boxes" / "cells_boxes.png").exists() and all("cells.png" in d.stdout for d in done)
