"""`automl predict RUN_DIR INPUT...`: runs an exported .tflite on LiteRT.

Uses only the bundle (model, labels.txt, metadata.json, preprocessor.json and its files),
numpy, Pillow and LiteRT: no TensorFlow, as on a phone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from automl.errors import DataError

PREFERENCE = ("int4", "int8", "dynamic", "float16", "float32")  # smallest first


def open_bundle(run_dir: str | Path, quantization: Optional[str] = None) -> tuple[Path, dict, Path]:
    """(export folder, metadata, .tflite path) of a run; the smallest model unless one is named."""
    root = Path(run_dir)
    _finish_a_killed_publication(root)
    export_dir = root / "export" if (root / "export").is_dir() else root
    meta_path = export_dir / "metadata.json"
    if not meta_path.exists():
        raise DataError(f"{meta_path} not found: is {run_dir} a finished automl run?")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    choices = [quantization] if quantization else PREFERENCE
    path = next((export_dir / f"model_{q}.tflite" for q in choices
                 if (export_dir / f"model_{q}.tflite").exists()), None)
    if path is None:
        raise DataError(f"no model_{'/'.join(choices)}.tflite in {export_dir}")
    return export_dir, metadata, path


def _finish_a_killed_publication(root: Path) -> None:
    """A run killed while publishing left a journal: finish it, unless a command holds the run
    directory (a run that is publishing finishes it itself)."""
    from automl.errors import RunDirectoryBusy
    from automl.run_dir import JOURNAL, finish_publication
    from automl.run_lock import run_directory_lock

    if (root / JOURNAL).exists():
        try:
            with run_directory_lock(root, "predict", create=False):
                finish_publication(root)
        except RunDirectoryBusy:
            pass


def rows_for_each(inputs, produce) -> list[dict]:
    """Rows from `produce(input)` for each input, or one {"input", "error"} row for an input that fails;
    no inputs at all is an error."""
    from automl.errors import AutomlError

    if not inputs:
        raise DataError("predict: no inputs given; this bundle reads inputs (texts, image paths or history CSVs, "
                        "as its metadata.json says)")
    rows = []
    for item in inputs:
        try:
            rows.extend(produce(item))
        except (AutomlError, OSError, ValueError) as err:
            rows.append({"input": str(item), "error": str(err).splitlines()[0]})
    return rows


class Predictor:
    """Loads a run's export bundle once and labels inputs with it.

    Args:
        run_dir: a run directory (holding export/) or the export folder itself.
        quantization: which .tflite to run; defaults to the smallest one present.
    """

    def __init__(self, run_dir: str | Path, quantization: Optional[str] = None):
        from automl.preprocessing import load_preprocessor
        from automl.verify import LiteRTModel

        self.export_dir, self.metadata, self.model_path = open_bundle(run_dir, quantization)
        self.labels = (self.export_dir / "labels.txt").read_text(encoding="utf-8").splitlines()
        self.model = LiteRTModel(self.model_path)
        self.preprocessor = load_preprocessor(self.export_dir)

    def probabilities(self, inputs: Sequence) -> np.ndarray:
        """Class probabilities for texts or image paths (every input must be usable)."""
        return self.preprocessor.run(self.model.predict, list(inputs))

    def predict(self, inputs: Sequence) -> list[dict]:
        """One row per input, in order: its label and confidence, or the error that input met."""
        from automl.preprocessing import stack_batches

        rows: list[dict] = [{"input": str(item)[:200]} for item in inputs]
        good, encoded = [], []
        for i, item in enumerate(inputs):
            try:
                encoded.append(self.preprocessor.encode([item]))
                good.append(i)
            except DataError as err:
                rows[i]["error"] = str(err)
        if good:
            probabilities = self.preprocessor.decode(self.model.predict(stack_batches(encoded)))
            for i, p in zip(good, probabilities):
                rows[i].update(label=self.labels[int(p.argmax())], confidence=round(float(p.max()), 4))
        return rows
