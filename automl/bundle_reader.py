"""The exported bundle as apps and `automl predict` read it: LiteRT, the saved preprocessor and
numpy, no TensorFlow. `BundleReader` labels inputs with class names; a task whose bundle gives
something else (masks, forecasts, a sample grid) hands over a subclass from `Task.bundle_reader`,
with its own `automl predict` options when it has any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional


class BundleReader:
    """Reads one task's bundles.

    Args:
        task: the `Task` whose bundles these are.
    """

    def __init__(self, task):
        self.task = task

    def arguments(self, parser) -> None:
        """Adds the task's own `automl predict` options to an argparse parser; their values reach
        `rows` in `options` (a generator's --samples, say)."""

    def rows(self, export_dir, metadata: dict, model_path, inputs: list, options: dict) -> list[dict]:
        """`automl predict`: one row per input from the bundle alone; a row with an "error" key for
        an input that cannot be used."""
        from automl.errors import DataError
        from automl.predict import Predictor

        if not inputs:
            raise DataError(f"predict: no inputs given; the {metadata['task']} bundle in {export_dir} labels "
                            f"inputs (texts, image paths or history CSVs, as its metadata.json says)")
        return Predictor(export_dir, model_path.name.removeprefix("model_").removesuffix(".tflite")).predict(inputs)

    def show(self, row: dict) -> str:
        """One `automl predict` row as a terminal line."""
        return "\t".join(str(v) for v in row.values())

    def header(self, options: dict) -> Optional[str]:
        """The line naming the columns `show` prints (None: no header)."""
        return None

    def raw_test_inputs(self, data):
        """The test part as users would pass it to `automl predict` (texts, pixel arrays, image
        files), for `check`; None when the bundle is not checked this way."""
        return None

    def check(self, export_dir, data, keras_outputs) -> Optional[dict]:
        """The bundle alone, as `automl predict` runs it (its saved preprocessor and smallest .tflite
        on LiteRT), over the raw test inputs, compared with the Keras model by the task's scorer."""
        raw = self.raw_test_inputs(data)
        if raw is None:
            return None
        from automl.predict import open_bundle
        from automl.preprocessing import load_preprocessor
        from automl.verify import LiteRTModel, count_examples

        _, _, model_path = open_bundle(export_dir)
        outputs = load_preprocessor(export_dir).run(LiteRTModel(model_path).predict, raw)
        return {"model": model_path.name, "examples": count_examples(outputs),
                "vs_keras": self.task.scorer.compare(keras_outputs, outputs, data)}

    #: The MediaPipe Tasks API apps run this task's files with ("ImageClassifier" ...), None for none.
    mediapipe_task: Optional[str] = None

    def mediapipe_inputs(self, data):
        """The test part as an app hands it to `mediapipe_task` (image files or 0..255 pixels, texts)."""
        return self.raw_test_inputs(data)

    def mediapipe_outputs(self, model_path, raw, data):
        """What `mediapipe_task` returns for the raw test inputs, shaped as the Keras model's outputs
        (`automl.mediapipe_tasks`)."""
        raise NotImplementedError

    def check_in_mediapipe(self, rows: list[dict], data, keras_outputs) -> Optional[str]:
        """Runs each kept .tflite row through `mediapipe_task` over the raw test inputs and puts what
        it found in the row's "mediapipe": agreement with Keras by the task's scorer, or why it could
        not run (over the first `mediapipe_tasks.MAX_EXAMPLES`). Returns a line for the terminal, None
        when MediaPipe has no task for these files."""
        if self.mediapipe_task is None:
            return None
        raw = self.mediapipe_inputs(data)
        if raw is None:
            return None
        from automl import mediapipe_tasks
        from automl.verify import count_examples, take

        # The first examples only on a big test split: MediaPipe runs one example per call.
        first = slice(None, mediapipe_tasks.MAX_EXAMPLES)
        raw, keras_outputs = raw[first], take(keras_outputs, first)
        kept = [row for row in rows if row.get("format") == "tflite" and not row.get("rejected")]
        version = mediapipe_tasks.version()
        if version is None:
            for row in kept:
                row["mediapipe"] = {"task": self.mediapipe_task,
                                    "skipped": f"mediapipe is not installed ({mediapipe_tasks.INSTALL})"}
            return f"not run in MediaPipe {self.mediapipe_task}: mediapipe is not installed ({mediapipe_tasks.INSTALL})"
        from automl.report.html import closeness_text

        lines = []
        for row in kept:
            name = Path(row["path"]).name
            try:
                outputs = self.mediapipe_outputs(Path(row["path"]), raw, data)
                comparison = self.task.scorer.compare(keras_outputs, outputs, data)
            except Exception as err:  # noqa: BLE001 - what MediaPipe says is the finding, for each file
                reason = " ".join(str(err).split())[:300]
                row["mediapipe"] = {"task": self.mediapipe_task, "version": version,
                                    "error": f"MediaPipe {self.mediapipe_task} cannot run it: {reason}"}
                lines.append(f"{name}: {row['mediapipe']['error']}")
                continue
            row["mediapipe"] = {"task": self.mediapipe_task, "version": version,
                                "examples": count_examples(outputs), "vs_keras": comparison}
            lines.append(f"{name}: {closeness_text(comparison)}")
        return f"MediaPipe {version} {self.mediapipe_task} on the raw test inputs: " + "; ".join(lines)


class LabelReader(BundleReader):
    """A classifier's bundle: a label and its confidence per input (the `--top-k` best with theirs)."""

    def arguments(self, parser) -> None:
        parser.add_argument("--top-k", type=int, default=1, metavar="K",
                            help="also list the K most likely labels with their confidences (default 1)")

    def rows(self, export_dir, metadata: dict, model_path, inputs: list, options: dict) -> list[dict]:
        from automl.errors import ConfigError, DataError
        from automl.predict import Predictor

        top_k = options.get("top_k", 1)
        if top_k < 1:
            raise ConfigError(f"--top-k {top_k}: expected 1 or more")
        if not inputs:
            raise DataError(f"predict: no inputs given; the {metadata['task']} bundle in {export_dir} labels "
                            f"inputs (texts, image paths or folders of images, as its metadata.json says)")
        quantization = model_path.name.removeprefix("model_").removesuffix(".tflite")
        return Predictor(export_dir, quantization).predict(inputs, top_k=top_k)

    def header(self, options: dict) -> Optional[str]:
        return "label\tconfidence\t" + ("top labels\t" if options.get("top_k", 1) > 1 else "") + "input"

    def show(self, row: dict) -> str:
        top = ("\t" + ", ".join(f"{label} {confidence:.3f}" for label, confidence in row["top"])) if "top" in row else ""
        return f"{row['label']}\t{row['confidence']:.3f}{top}\t{row['input']}"
