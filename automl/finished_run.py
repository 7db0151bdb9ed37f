"""A finished run read back from its directory: config, data, the trained model, its bundle.

`automl export` (a new bundle without searching or training again) and `automl diff` (two
bundles on the test split) start here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from automl.errors import DataError

REPORT_FILE = "report.json"


@dataclass
class FinishedRun:
    run_dir: Path
    config: object
    report: dict
    task: object
    data: object          # as the best family sees it (task.prepare)
    family: object
    hp: object
    trained: object       # the model as fine-tuned

    def test_arrays(self):
        return self.task.eval_arrays(self.data, "test", self.hp)


def load_finished_run(run_dir: str | Path) -> FinishedRun:
    """Reads a completed run: its resolved config, its data, and the fine-tuned model rebuilt
    from the best configuration with the weights fine-tuning kept."""
    import yaml

    from automl.config.loader import config_from_mapping
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.pipeline import load_run_data
    from automl.search import family_hyperparameters
    from automl.tasks import get_task

    from automl.run_dir import finish_publication

    root = Path(run_dir)
    finish_publication(root)  # a run killed while publishing: its result, whole
    report_path, config_path = root / REPORT_FILE, root / "pipeline.yaml"
    for path in (report_path, config_path):
        if not path.exists():
            raise DataError(f"{path} not found: {root} is not a finished automl run directory")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("status") != "succeeded":
        raise DataError(f"{report_path}: status is {report.get('status')!r}; re-export needs a run that succeeded")
    config = config_from_mapping(yaml.safe_load(config_path.read_text(encoding="utf-8")), source=str(config_path))
    task = get_task(config.task)
    if config.data.path == ".":
        raise DataError(f"{config_path}: the run's data came from Python arrays (automl.fit), which the run "
                        f"directory does not keep; re-export it from Python with Result.export")
    best = report["best"]
    family = get_family(best["family"])
    hp = family_hyperparameters(best["hyperparameters"])
    # As the run loaded it, with what its scorer prepared (a GAN's feature network, read back).
    data, _, data_print, _ = load_run_data(config, task, None, root)
    _check_same_data(root, config, data_print)
    hypermodel = TaskHyperModel(family, task, data, pretrained=best["pretrained"], seed=config.seed)
    trained = hypermodel.build(hp)
    weights = _finetuned_weights(root, report)
    try:
        trained.load_weights(weights)
    except ValueError as err:
        # A run made by another automl: its model had other layers (image models gained an RGB input
        # and a grey-from-colour first layer, for instance), so this one cannot rebuild it.
        raise DataError(f"{weights}: these weights do not fit the model this automl builds for the run's "
                        f"configuration ({str(err).splitlines()[0][:200]}); the run was probably made by another "
                        f"automl version. Re-export it with that version, or run {root / 'pipeline.yaml'} again "
                        f"with this one") from None
    return FinishedRun(root, config, report, task, hypermodel.data, family, hp, trained)


def _check_same_data(root: Path, config, data_print: str) -> None:
    """Refuses data other than the run's: its test split would be another, and so every figure."""
    from automl.run_dir import search_fingerprint

    stamp = root / "search" / "fingerprint.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") != search_fingerprint(config, data_print):
        raise DataError(f"{config.data.path}: the data changed since the run in {root} (file names, sizes or "
                        f"modification times differ), so its test split would be another; restore the run's "
                        f"data, or run again on this data")


def _finetuned_weights(root: Path, report: dict) -> Path:
    """The weights fine-tuning kept: the second choice's folder when it won, the final model when
    fine-tuning finished, else its best epoch (a run cut short by its time limit)."""
    from automl.finetune import BEST, FINAL

    tuned = report.get("finetune", {})
    if tuned.get("skipped"):
        raise DataError(f"{root}: fine-tuning was disabled in this run, so no fine-tuned weights were kept; "
                        f"re-export needs them")
    compared = tuned.get("compared") or []
    second = len(compared) > 1 and tuned.get("kept") == compared[1].get("trial_id")
    folder = root / ("finetune_second" if second else "finetune")
    for name in (FINAL, BEST):
        if (folder / name).exists():
            return folder / name
    raise DataError(f"{folder}: neither {FINAL} nor {BEST} is there; the run's fine-tuned weights are gone")


def next_export_dir(root: Path) -> Path:
    """export-2, export-3, ...: the first free name beside the run's export/."""
    index = 2
    while (root / f"export-{index}").exists():
        index += 1
    return root / f"export-{index}"
