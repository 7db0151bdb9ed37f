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


def open_bundle(run_dir: str | Path, quantization: Optional[str] = None,
                model: Optional[str] = None) -> tuple[Path, dict, Path]:
    """(export folder, metadata, .tflite path) of a run directory, its export folder or its
    export.zip; the file named `model`, else the one of `quantization`, else the smallest."""
    root = Path(run_dir)
    if root.suffix == ".zip" and root.is_file():
        root = _unzipped(root)
    _finish_a_killed_publication(root)
    export_dir = root / "export" if (root / "export").is_dir() else root
    meta_path = export_dir / "metadata.json"
    if not meta_path.exists():
        raise DataError(f"{meta_path} not found: is {run_dir} a finished automl run, its export folder or "
                        f"its export.zip?")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    if model is not None:
        path = export_dir / Path(model).name
        present = sorted(p.name for p in export_dir.glob("*.tflite"))
        if path.suffix != ".tflite" or not path.is_file():
            raise DataError(f"--model {model}: not a .tflite file of the bundle in {export_dir}; it has {present}")
        return export_dir, metadata, path
    choices = [quantization] if quantization else PREFERENCE
    path = next((export_dir / f"model_{q}.tflite" for q in choices
                 if (export_dir / f"model_{q}.tflite").exists()), None)
    if path is None:
        raise DataError(f"no model_{'/'.join(choices)}.tflite in {export_dir}")
    return export_dir, metadata, path


def _unzipped(archive: Path) -> Path:
    """An export.zip opened into a temporary folder removed when the process ends; the folder in
    it that holds metadata.json."""
    import atexit
    import shutil
    import tempfile
    import zipfile

    folder = Path(tempfile.mkdtemp(prefix="automl-bundle-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(folder)
    except zipfile.BadZipFile as err:
        raise DataError(f"{archive}: not a zip file an automl export made ({err})") from None
    found = sorted(folder.rglob("metadata.json"), key=lambda p: len(p.parts))
    if not found:
        raise DataError(f"{archive}: holds no metadata.json; expected the export.zip of an automl run")
    return found[0].parent


def expand_folders(inputs: Sequence[str]) -> list[str]:
    """Inputs with each folder replaced by the image files in it (and its subfolders), sorted as
    people sort names; other inputs as given."""
    from automl.data.files import IMAGE_SUFFIXES, is_hidden, natural_key

    expanded = []
    for item in inputs:
        folder = Path(str(item))
        if folder.is_dir():
            images = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                      and not any(is_hidden(Path(part)) for part in p.relative_to(folder).parts)]
            if not images:
                raise DataError(f"{folder}: a folder without images ({', '.join(IMAGE_SUFFIXES)})")
            expanded += [str(p) for p in sorted(images, key=lambda p: natural_key(str(p)))]
        else:
            expanded.append(item)
    return expanded


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

    def predict(self, inputs: Sequence, top_k: int = 1) -> list[dict]:
        """One row per input, in order: its label and confidence (and with `top_k` > 1 the `top`
        labels and their confidences), or the error that input met."""
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
                if top_k > 1:
                    rows[i]["top"] = [[self.labels[k], round(float(p[k]), 4)] for k in np.argsort(-p)[:top_k]]
        return rows
