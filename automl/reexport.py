"""`automl export RUN_DIR`: a new bundle from a finished run, without searching or training again
(compression fine-tunes the trained model further, as `export.compression` says), and
`automl diff A B`: two bundles side by side on the run's test split."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Optional

from automl.progress import say


def reexport(run_dir: str | Path, quantizations: Optional[list[str]] = None,
             compression: Optional[str | list[str]] = None, sparsity: Optional[float] = None,
             layer_sparsity: Optional[str] = None, clusters: Optional[int] = None,
             out: Optional[str | Path] = None) -> Path:
    """Exports and verifies the run's fine-tuned model into a new folder beside export/ (export-2,
    ...); its `report.json` holds the rows. Returns the folder."""
    from automl.run_lock import run_directory_lock

    with run_directory_lock(Path(run_dir), "export", create=False):
        return _reexport(run_dir, quantizations, compression, sparsity, layer_sparsity, clusters, out)


def _reexport(run_dir, quantizations, compression, sparsity, layer_sparsity, clusters, out) -> Path:
    from automl.assess import make_bundle, score_on_test
    from automl.compression import require_tfmot
    from automl.finished_run import load_finished_run, next_export_dir
    from automl.model_card import zip_bundle
    from automl.publish import Publication, only_a_bundle
    from automl.run_dir import write_json

    started = time.time()
    for staged in Path(run_dir).glob(".export-*.partial-*"):  # an export killed before (we hold the lock)
        shutil.rmtree(staged, ignore_errors=True)
    export_dir = Path(out) if out else next_export_dir(Path(run_dir))
    # The target is refused before the model is loaded: a wrong --out is told in a second, not ten.
    with Publication(export_dir, lambda folder: only_a_bundle(folder, Path(run_dir)), "--out") as publication:
        run = load_finished_run(run_dir)
        config = _with_overrides(run.config, quantizations, compression, sparsity, layer_sparsity, clusters)
        require_tfmot(config.export.compression.techniques, "--compression" if compression else "export.compression")
        export_dir = publication.target
        say("export", f"{run.run_dir} -> {export_dir} (no search, no training but what compression asks)")
        model, inference = run.task.inference.choose(run.trained, run.data, run.hp, config, run.report.get("backtests"))
        score = score_on_test(model, run.task, run.data, run.hp)
        bundle = make_bundle(model, run.task, run.data, config, score, publication.folder, run_dir=run.run_dir,
                             hp=run.hp, family=run.family, card=run.report, trained=run.trained, inference=inference)
        for row in bundle.rows:
            row["path"] = str(publication.final_path(row["path"]))
        write_json(publication.folder / "report.json", {
            "run_dir": str(Path(run.run_dir).absolute()), "test_metrics": score.metrics,
            "headline_metric": run.task.goal.headline, "inference": inference,
            "export": config.export.model_dump(mode="json"), "exports": [_public(r) for r in bundle.rows],
            "seconds": round(time.time() - started, 1)})
        zip_bundle(publication.folder, publication.staged_zip, export_dir.name)
        publication.publish()
    kept = len(bundle.rows) - len(bundle.rejected)
    say("done", f"{kept} file(s) in {export_dir}{f', {len(bundle.rejected)} left out' if bundle.rejected else ''}")
    return export_dir


def _with_overrides(config, quantizations, compression, sparsity, layer_sparsity, clusters):
    export = config.export.model_copy(deep=True)
    if quantizations:
        export.quantizations = list(quantizations)
    if any(value is not None for value in (compression, sparsity, layer_sparsity, clusters)):
        from automl.config.schema import CompressionConfig

        current = export.compression.model_dump()
        if compression is not None:
            current["techniques"] = CompressionConfig.model_validate(compression).techniques
        if sparsity is not None:
            current["sparsity"] = sparsity
        if layer_sparsity is not None:
            current["layer_sparsity"] = layer_sparsity
        if clusters is not None:
            current["clusters"] = clusters
        export.compression = CompressionConfig.model_validate(current)
    return config.model_copy(update={"export": export})


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("ops",)}


def diff_bundles(first: str | Path, second: str | Path, other_run: bool = False) -> list[dict]:
    """Every .tflite of two bundles of the same run on its test split: metric, agreement with the
    first bundle's float32 file (or its first file), bytes, gzip bytes, latency. Bundles of two
    runs are refused unless `other_run` (they may differ in data, labels and test split)."""
    from automl.compression.stage import gzip_size
    from automl.errors import DataError
    from automl.finished_run import load_finished_run
    from automl.publish import run_of_bundle
    from automl.verify import LiteRTModel

    bundles = [Path(first), Path(second)]
    for bundle in bundles:
        if not (bundle / "metadata.json").exists():
            raise DataError(f"{bundle}/metadata.json not found: expected an export folder of an automl run")
    runs = [run_of_bundle(bundle) for bundle in bundles]
    if runs[0] != runs[1] and not other_run:
        raise DataError(f"{bundles[1]} comes from the run in {runs[1]}, {bundles[0]} from {runs[0]}: bundles of "
                        f"two runs may differ in data, labels and test split; compare them anyway with --other-run")
    run = load_finished_run(runs[0])
    x_test, y_test = run.test_arrays()
    files = [(bundle, entry) for bundle in bundles for entry in _bundle_files(bundle)]
    if not files:
        raise DataError(f"no .tflite files in {bundles[0]} or {bundles[1]}")
    first_files = [entry for bundle, entry in files if bundle == bundles[0]] or [files[0][1]]
    reference_file = next((e for e in first_files if e.get("quantization") == "float32"), first_files[0])
    rows, reference = [], None
    for bundle, entry in files:
        path = bundle / entry["path"]
        model = LiteRTModel(path)
        outputs = model.predict(x_test)
        if entry is reference_file:
            reference = outputs
        content = path.read_bytes()
        rows.append({"bundle": bundle.name, "file": entry["path"], "compression": entry.get("compression", "none"),
                     **{f"test_{k}": v for k, v in run.task.evaluate(y_test, outputs, run.data).items()
                        if isinstance(v, float)},
                     "outputs": outputs, "bytes": len(content), "gzip_bytes": gzip_size(content),
                     "latency_ms": round(model.latency_ms(x_test), 3)})
    for row in rows:
        outputs = row.pop("outputs")
        compared = run.task.scorer.compare(reference, outputs, run.data)
        row.update({f"vs_{Path(reference_file['path']).stem}_{k}": v for k, v in compared.items()})
    return rows


def _bundle_files(bundle: Path) -> list[dict]:
    meta = json.loads((bundle / "metadata.json").read_text(encoding="utf-8"))
    return [f for f in meta.get("files", []) if f.get("format") == "tflite" and (bundle / f["path"]).exists()]
