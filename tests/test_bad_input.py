"""The bad-input corpus: every input a user got wrong ends in one line on stderr,
naming the file or key, the value received and what was expected; a non-zero
exit; no traceback; and nothing trained.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from automl.cli import main


@pytest.fixture
def automl(capsys, tmp_path, monkeypatch):
    """Runs the CLI in-process: (exit code, the stderr lines that are not progress lines).

    Every call is also checked to change nothing outside the run's own directory (its --out):
    files planted in the working folder and beside the data, and every file the test wrote,
    keep their bytes, and no new file appears elsewhere."""
    cwd = tmp_path / "cwd"
    for planted in (cwd / "notes.txt", tmp_path / "planted" / "photo.jpg"):
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_text(f"the user's {planted.name}")
    monkeypatch.chdir(cwd)

    def run(*args):
        args = [str(a) for a in args]
        own = Path(args[args.index("--out") + 1]).resolve() if "--out" in args else None
        before = _checksums(tmp_path, own)
        code = main(args)
        err = capsys.readouterr().err
        assert "Traceback" not in err, err
        assert _checksums(tmp_path, own) == before, "a file outside the run directory changed"
        problems = [line for line in err.splitlines() if line.strip() and not line.startswith("[")]
        return code, problems

    return run


def _checksums(root: Path, own) -> dict:
    """Every file under `root` but those of the run directory `own`, with its sha256."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(root.rglob("*"))
            if path.is_file() and (own is None or not path.resolve().is_relative_to(own))}


def assert_one_line(problems, *needles):
    assert len(problems) == 1, problems
    assert problems[0].startswith("error: "), problems
    for needle in needles:
        assert needle in problems[0], problems[0]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def images(small_folder):
    """Three real Fashion-MNIST classes of 12 images."""
    return small_folder


def pipeline(tmp_path, folder, extra=""):
    return write(tmp_path / "p.yaml", f"extends: image_classification\ndata:\n  path: {folder}\n{extra}")


# ------------------------------------------------------- rejected by validate (exit 2)

INVALID = [
    ("search:\n  objective: val_acuracy\n", ["search.objective", "'val_acuracy'", "Did you mean 'val_accuracy'"]),
    ("search:\n  families: [mobilnet_v3]\n", ["search.families", "'mobilnet_v3'", "Did you mean 'mobilenet_v3'"]),
    ("search:\n  families: [unet]\n", ["search.families", "'unet' does not serve image_classification"]),
    ("search:\n  families: []\n", ["search.families", "at least one item", "Received: []"]),
    ("search:\n  families: [small_cnn, mobilenet_v3]\n  max_trials: 1\n", ["pins 2 families", "max_trials is 1"]),
    ("  split: {val: 0.6, test: 0.6}\n", ["data.split", "val=0.6, test=0.6"]),
    ("export:\n  formats: []\n", ["export.formats", "Received: []"]),
    ("export:\n  quantizations: []\n", ["export.quantizations", "Received: []"]),
    ("seed: -1\n", ["seed", "greater than or equal to 0", "Received: -1"]),
    ("  image_size: [0, 0]\n", ["data.image_size", "at least 8 px", "[0, 0]"]),
    ("time_limit: -5\n", ["time_limit", "positive duration", "-5"]),
    ("search:\n  time_limit: 0\n", ["search.time_limit", "positive duration", "Received: 0"]),
    ("finetune:\n  time_limit: soon\n", ["finetune.time_limit", "'soon'"]),
    ("search:\n  max_train_examples: -10\n", ["search.max_train_examples", "at least 1", "-10"]),
    ("output: runs/{nam}\n", ["output", "unknown placeholder {nam}", "Did you mean {name}"]),
    ("  horizon: 24\n", ["data.horizon", "a key of time_series_forecasting data, not image_classification"]),
    ("task: image_captioning\n", ["task: unknown task", "Did you mean 'image_generation'", "'image_captioning'"]),
    ("search:\n  max_trials: 2\nsearch:\n  epochs: 1\n", ["line 6", "duplicate key 'search'"]),
    ("export:\n  compression: [prune, prune]\n", ["export.compression.techniques", "prune listed more than once"]),
    ("export:\n  quantizations: [int8, float32, int8]\n", ["export.quantizations", "int8 listed more than once"]),
    ("export:\n  compression: {techniques: [qat], learning_rate: -0.001}\n",
     ["export.compression.learning_rate", "positive number", "Received: -0.001"]),
]


@pytest.mark.parametrize("extra,needles", INVALID, ids=[n[0] for _, n in INVALID])
def test_values_that_can_only_be_wrong_fail_validate(automl, tmp_path, images, extra, needles):
    path = pipeline(tmp_path, images, extra)
    code, problems = automl("validate", path)
    assert code == 2
    assert_one_line(problems, str(path), *needles)
    code, problems = automl("run", path, "--out", tmp_path / "run")
    assert code == 2 and not (tmp_path / "run").exists()


def test_compressing_a_generator_is_refused_before_training(automl, tmp_path, images):
    path = write(tmp_path / "gan.yaml", f"extends: image_generation\ndata:\n  path: {images}\n"
                                         f"export:\n  compression: prune_qat\n")
    code, problems = automl("validate", path)
    assert code == 2
    assert_one_line(problems, str(path), "export", "image generation cannot be compressed", "['prune_qat']")


def test_unknown_encoding(automl, tmp_path):
    path = write(tmp_path / "p.yaml", f"extends: text_classification\ndata:\n  path: {tmp_path}\n  encoding: latin-9x\n")
    code, problems = automl("validate", path)
    assert code == 2
    assert_one_line(problems, "data.encoding", "Python codec name", "'latin-9x'")


def test_empty_data_path_is_not_the_current_folder(automl, tmp_path):
    path = write(tmp_path / "p.yaml", "extends: image_classification\ndata:\n  path: ''\n")
    code, problems = automl("validate", path)
    assert code == 2
    assert_one_line(problems, "data.path", "expected a file or folder", "Received: ''")


def test_validate_on_a_folder_or_a_binary_file(automl, tmp_path):
    code, problems = automl("validate", tmp_path)
    assert code == 2
    assert_one_line(problems, str(tmp_path), "is a folder; expected a pipeline YAML file")
    binary = tmp_path / "p.yaml"
    binary.write_bytes(b"task: image_classification\n\xff\xfe\x00junk\n")
    code, problems = automl("validate", binary)
    assert code == 2
    assert_one_line(problems, str(binary), "line 2", "0xff is not UTF-8")


def test_set_a_section_then_a_key_inside_it(automl, tmp_path, images):
    path = pipeline(tmp_path, images)
    code, problems = automl("validate", path, "--set", "search=5", "--set", "search.max_trials=3")
    assert code == 2
    assert_one_line(problems, "search.max_trials=3", "search was already set to 5")


def test_out_naming_an_existing_file(automl, tmp_path, images):
    taken = write(tmp_path / "taken.txt", "not a run directory")
    code, problems = automl("run", pipeline(tmp_path, images), "--out", taken)
    assert code == 2
    assert_one_line(problems, "--out", str(taken), "is a file")
    assert taken.read_text() == "not a run directory"


# ------------------------------------------------- found in the data, before training (exit 1)

def assert_nothing_trained(run_dir):
    assert not (run_dir / "search").exists()
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "failed" and "search" not in report


def test_tiff_content_named_png(automl, tmp_path, images):
    from PIL import Image

    fake = images / "Bag" / "scan.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(fake, format="TIFF")
    code, problems = automl("run", pipeline(tmp_path, images), "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(fake), "TIFF", "TensorFlow cannot decode", "data.on_bad_file: skip")
    assert_nothing_trained(tmp_path / "run")


def test_two_images_per_class(automl, tmp_path, images):
    for class_dir in images.iterdir():
        for extra in sorted(class_dir.glob("*.png"))[2:]:
            extra.unlink()
    code, problems = automl("run", pipeline(tmp_path, images), "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(images), "leave the val part empty", "has 2")
    assert_nothing_trained(tmp_path / "run")


def test_empty_class_folder(automl, tmp_path, images):
    (images / "Sandal").mkdir()
    code, problems = automl("run", pipeline(tmp_path, images), "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(images / "Sandal"), "holds no usable images")
    assert_nothing_trained(tmp_path / "run")


def series_refused(automl, tmp_path, values, extra, *needles):
    """A daily series of `values` (one per day of January) is refused at the data stage: exit 1, one
    line naming the file, nothing trained."""
    rows = [f"2020-01-{day:02d},{value}" for day, value in enumerate(values, start=1)]
    data = write(tmp_path / "s.csv", "date,value\n" + "\n".join(rows) + "\n")
    path = write(tmp_path / "p.yaml", f"extends: time_series_forecasting\ndata:\n  path: {data}\n{extra}")
    code, problems = automl("run", path, "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(data), *needles)
    assert_nothing_trained(tmp_path / "run")


def test_all_empty_series_with_missing_drop(automl, tmp_path):
    series_refused(automl, tmp_path, [""] * 30, "  missing: drop\n", "column 'value' has no values")


def test_an_infinite_value_in_a_series_is_refused_at_the_data_stage(automl, tmp_path):
    values = ["inf" if day == 17 else day % 7 for day in range(1, 31)]
    series_refused(automl, tmp_path, values, "", "column 'value', row 17", "'inf' is infinite")


def test_latin1_csv_says_so(automl, tmp_path):
    rows = [f"critique numéro {i} très réussie,{'bon' if i % 2 else 'mauvais'}" for i in range(60)]
    data = tmp_path / "t.csv"
    data.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("latin-1"))
    path = write(tmp_path / "p.yaml", f"extends: text_classification\ndata:\n  path: {data}\n")
    code, problems = automl("run", path, "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(data), "not UTF-8", "60 of 60 rows", "data.encoding", "cp1252")
    assert_nothing_trained(tmp_path / "run")


def test_a_text_label_with_one_example_is_refused_at_the_data_stage(automl, tmp_path):
    rows = [f"review {i}: {'a warm and funny film' if i % 2 else 'dull and far too long'},{'pos' if i % 2 else 'neg'}"
            for i in range(40)]
    data = write(tmp_path / "t.csv", "text,label\n" + "\n".join(rows[:17] + ["one of a kind,odd"] + rows[17:]) + "\n")
    path = write(tmp_path / "p.yaml", f"extends: text_classification\ndata:\n  path: {data}\n")
    code, problems = automl("run", path, "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(data), "label 'odd' has 1 example(s) (row 19)", "at least 3", "data.labels")
    assert_nothing_trained(tmp_path / "run")
    # Keeping the other labels is the way round it.
    code, problems = automl("validate", write(tmp_path / "p.yaml", f"extends: text_classification\ndata:\n"
                                                                 f"  path: {data}\n  labels: [neg, pos]\n"))
    assert code == 0, problems


def test_a_gan_on_too_few_images_is_refused_at_the_data_stage(automl, tmp_path, images):
    path = write(tmp_path / "gan.yaml", f"extends: image_generation\ndata:\n  path: {images}\n")
    code, problems = automl("run", path, "--out", tmp_path / "run")
    assert code == 1
    assert_one_line(problems, str(images), "part has 3 image(s)", "at least 6 real ones per part", "data.split")
    assert_nothing_trained(tmp_path / "run")


def test_predict_without_a_bundle(automl, tmp_path):
    code, problems = automl("predict", tmp_path, "an input")
    assert code == 1
    assert_one_line(problems, "metadata.json not found")




@pytest.mark.parametrize("args,where", [(["init", "--task", "image_clasification"], "init --task"),
                                        (["schema", "--task", "image_clasification"], "schema --task")])
def test_an_unknown_task_name_is_a_config_error_with_a_suggestion(automl, args, where):
    code, problems = automl(*args)
    assert code == 2
    assert_one_line(problems, where, "Did you mean 'image_classification'", "'image_clasification'")


def test_fit_names_the_closest_task():
    import automl as package
    from automl.errors import ConfigError

    with pytest.raises(ConfigError, match="automl.fit: task: unknown task. Did you mean 'text_classification'"):
        package.fit(([], []), task="text_clasification")


def test_a_task_s_own_predict_option_is_not_read_as_an_abbreviation():
    # A generator's --out (its grid's file) once became --out-dir, and the grid a folder.
    from automl.cli import _parser

    args, extra = _parser().parse_known_args(["predict", "runs/gan", "--samples", "16", "--out", "grid.png"])
    assert args.out_dir is None and extra == ["--samples", "16", "--out", "grid.png"]


_VALIDATE_WITHOUT_TF = """
import sys
from automl.cli import main
code = main(["validate", *sys.argv[1:]])
print("exit", code, "tensorflow imported" if "tensorflow" in sys.modules or "keras" in sys.modules else "no tensorflow")
"""


def test_validate_reads_the_data_and_refuses_what_run_would_fail_on_without_tensorflow(tmp_path):
    """A text column the file does not have, a horizon longer than the series: refused by `validate`
    with one line (the file, the key, the value, what was expected), as the run's data stage would
    refuse them, and TensorFlow is never imported (the check takes a fraction of a second)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    reviews = write(tmp_path / "reviews.csv", "comment,label\n" + "".join(
        f"{'a warm and funny film' if i % 2 else 'dull and far too long'} ({i}),{'pos' if i % 2 else 'neg'}\n"
        for i in range(60)))
    text = write(tmp_path / "text.yaml", f"extends: text_classification\ndata:\n  path: {reviews}\n  text_column: review\n")
    days = write(tmp_path / "days.csv", "date,sales\n" + "".join(
        f"{day},{100 + (i % 7) * 3 + i * 0.1:.1f}\n"
        for i, day in enumerate(np.arange("2024-01-01", "2025-02-04", dtype="datetime64[D]"))))
    series = write(tmp_path / "series.yaml", f"extends: time_series_forecasting\ndata:\n  path: {days}\n  horizon: 5000\n")

    def validate(*args):
        done = subprocess.run([sys.executable, "-c", _VALIDATE_WITHOUT_TF, *map(str, args)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        return done.stdout.splitlines()[-1], [line for line in done.stderr.splitlines() if line.strip()]

    said, problems = validate(text)
    assert said == "exit 1 no tensorflow"
    assert_one_line(problems, str(reviews), "data.text_column='review' is not a column", "'comment'")
    said, problems = validate(series)
    assert said == "exit 1 no tensorflow"
    assert_one_line(problems, str(days), "400 steps are too few for data.horizon=5000")
    # The same files with what they hold: valid, and the data line says what the run will read.
    said, problems = validate(text, "--set", "data.text_column=comment")
    assert said == "exit 0 no tensorflow" and problems[0].startswith("# data: 60 examples"), problems
    said, problems = validate(series, "--set", "data.horizon=7")
    assert said == "exit 0 no tensorflow" and problems[0].startswith("# data: 400 examples"), problems
