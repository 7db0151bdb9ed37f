"""Runs the stages in order: data, profile, select, search, fine-tune,
evaluate, export, verify, report.

Each stage takes the previous stage's artifact and the config. The report
is written after every stage, so a failure loses nothing that was done.
"""

from __future__ import annotations

import json
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from automl.errors import PipelineFailed
from automl.progress import format_seconds, say


@dataclass
class RunArtifacts:
    model: object
    task: object
    data: object
    report: dict
    out_dir: Path
    hp: object = None


class _Recorder:
    """Holds report.json as it grows and rewrites it after each stage."""

    def __init__(self, out_dir: Path, report: dict):
        self.out_dir, self.report = out_dir, report
        self.started = time.time()

    def write(self) -> None:
        self.report["timings"]["total_seconds"] = round(time.time() - self.started, 1)
        path = self.out_dir / "report.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.report, indent=2, default=_jsonable), encoding="utf-8")
        tmp.replace(path)

    @contextmanager
    def stage(self, name: str):
        start = time.time()
        self.report["stage"] = name
        try:
            yield
        finally:
            self.report["timings"][name] = round(time.time() - start, 1)
            self.write()


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def run_pipeline(config, arrays=None, out_dir: Optional[str | Path] = None) -> RunArtifacts:
    """Runs a whole pipeline; returns the model, data and report.

    Args:
        config: a validated `PipelineConfig`.
        arrays: optional in-memory data, `(inputs, targets)`, from the Python API.
        out_dir: run directory; defaults to `config.output_dir()`.
    """
    from automl.tasks import get_task

    out = Path(out_dir or config.output_dir())
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    task = get_task(config.task)
    recorder = _Recorder(out, {"status": "running", "task": config.task, "name": config.run_name(),
                               "schema_version": config.schema_version, "seed": config.seed,
                               "timings": {}})
    say("run", f"{config.task} -> {out}")
    try:
        artifacts = _run_stages(config, task, arrays, out, recorder)
    except BaseException as err:
        report = recorder.report
        if isinstance(err, KeyboardInterrupt):
            report["status"] = "interrupted"
            report["error"] = f"interrupted (Ctrl-C) during the {report.get('stage', 'first')} stage"
        else:
            report["status"] = "failed"
            report["error"] = f"{type(err).__name__}: {err}"
            report["traceback"] = traceback.format_exc()
            if getattr(err, "detail", None):
                report["error_detail"] = err.detail
        recorder.write()
        _write_html(report, out, task, None)
        say("done", f"{report['status']}; report so far: {out / 'report.json'}")
        raise
    return artifacts


_QUIET_WARNINGS = (
    # Keras warns on every fit with a tf.data input; our datasets are shuffled already.
    r"`shuffle=True` was passed",
    # Reloading a trial's weights skips its optimizer state, which fine-tuning rebuilds.
    r"Skipping variable loading for optimizer",
)


def _run_stages(config, task, arrays, out: Path, recorder: _Recorder) -> RunArtifacts:
    import warnings

    from automl.selector import select_families

    for pattern in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)

    report = recorder.report
    with recorder.stage("data"):
        data = task.load_data(config, arrays=arrays)
        report["dataset"] = task.profile(data)
        say("data", task.describe_profile(report["dataset"]))
    with recorder.stage("select"):
        selection = select_families(config.task, report["dataset"], config)
        report["selector"] = selection.to_report()
        for c in selection.candidates:
            say("select", f"{c.family} (score {c.score}, {c.max_trials} trial(s)): {'; '.join(c.reasons)}")
        for e in selection.excluded:
            say("select", f"not {e['family']}: {e['reason']}")
        _check_pinned_exports(config, selection)

    from automl.finetune import finetune
    from automl.runtime import choose_runtime
    from automl.search import run_search

    runtime = choose_runtime(config)
    report["runtime"] = runtime.to_report()
    say("runtime", f"{runtime.name}, precision {runtime.mixed_precision}")
    with recorder.stage("search"):
        config = _within_run_budget(config, "search", time.time() - recorder.started)
        result = run_search(config, task, data, selection, runtime, out)
        report["search"] = result.to_report()
        report["best"] = {k: v for k, v in result.best.items() if not k.startswith("_")}
    with recorder.stage("finetune"):
        if config.finetune.enabled:
            config = _within_run_budget(config, "finetune", time.time() - recorder.started)
            tuned = finetune(config, task, data, result.best, result.best_model, runtime)
            model = tuned.model
            report["finetune"] = tuned.to_report()
        else:
            model = result.best_model
            report["finetune"] = {"skipped": True}
    from automl.families import get_family

    best_family = get_family(result.best["family"])
    best_hp = result.best["_hp"]
    view = task.prepare(data, best_family, result.best["pretrained"])
    with recorder.stage("evaluate"):
        x_test, y_test = task.eval_arrays(view, "test", best_hp)
        keras_outputs = model.predict(x_test, batch_size=256, verbose=0)
        if not np.all(np.isfinite(keras_outputs)):
            raise RuntimeError("the fine-tuned model outputs NaN or infinite values on the test split; "
                               "lower the learning rate or pin another family")
        report["test_metrics"] = task.evaluate(y_test, keras_outputs)
        report["headline_metric"] = task.headline_metric
        examples = task.report_examples(view, y_test, keras_outputs)
        if examples:
            report["report_examples"] = examples
        say("evaluate", f"test {task.headline_metric}={report['test_metrics'][task.headline_metric]:.4f} "
                        f"on {len(y_test)} held-out examples")
        baselines = task.baselines(view, best_hp)
        if baselines:
            report["baselines"] = baselines["test"]
            report["baseline_validation"] = baselines["validation"]
            for name, metrics in baselines["test"].items():
                say("evaluate", f"baseline {name}: test {task.headline_metric}={metrics[task.headline_metric]:.4f}")
            for warning in task.baseline_warnings(report["test_metrics"], baselines["test"]):
                report.setdefault("warnings", []).append(warning)
                say("evaluate", f"warning: {warning}")
    from automl.export import export_models
    from automl.verify import verify_exports

    with recorder.stage("export"):
        rows, export_dir = export_models(model, task, view, config, out, best_hp, best_family)
        report["exports"] = rows
        report["export_dir"] = str(export_dir)
    failures = []
    if config.export.verify:
        with recorder.stage("verify"):
            rejected = verify_exports(rows, task, x_test, y_test, keras_outputs,
                                      report["test_metrics"], config.export.int8_accuracy_gate)
            if rejected:
                from automl.export import remove_from_bundle

                remove_from_bundle(export_dir, rejected)
                for row in rejected:
                    warning = f"{Path(row['path']).name} left out of the bundle: {row['rejected']}"
                    report.setdefault("warnings", []).append(warning)
                    say("verify", f"warning: {warning}")
                if config.export.require_all:
                    failures = [f"{Path(row['path']).name}: {row['rejected']} (export.require_all is true)"
                                for row in rejected]
            check = task.check_bundle(export_dir, view, keras_outputs) if "tflite" in config.export.formats else None
            if check:
                report["predict_agreement"] = check
                say("verify", f"automl predict on the raw test inputs (bundle and LiteRT only): {check}")
    report["status"] = "failed" if failures else "succeeded"
    report.pop("stage", None)
    if failures:
        report["error"] = "; ".join(failures)
    recorder.write()
    _write_html(report, out, task, (view, x_test, y_test, keras_outputs))
    say("done", f"{report['status']} in {format_seconds(report['timings']['total_seconds'])}; "
                f"report: {out / 'report.html'}")
    if failures:
        raise PipelineFailed("; ".join(failures))
    return RunArtifacts(model, task, view, report, out, best_hp)


def _check_pinned_exports(config, selection) -> None:
    """Fails before training when pinned hyperparameters rule out a requested export."""
    from automl.export import check_quantizations
    from automl.families import get_family
    from automl.search import pinned_hyperparameters

    if "tflite" in config.export.formats:
        hp = pinned_hyperparameters(config.search.hyperparameters)
        for candidate in selection.candidates:
            check_quantizations(get_family(candidate.family), hp, config.export.quantizations)


#: Shares of the run-wide `time_limit`: the most the search may take, and what
#: fine-tuning leaves for evaluation, export and verification.
SEARCH_SHARE = 0.35
RESERVE_SHARE = 0.20


def _within_run_budget(config, stage: str, elapsed: float):
    """A copy of `config` whose `stage` time limit fits the run's `time_limit`."""
    if not config.time_limit:
        return config
    total = config.time_limit
    if stage == "search":
        budget = SEARCH_SHARE * total
    else:
        budget = (1.0 - RESERVE_SHARE) * total - elapsed
    section = getattr(config, stage)
    own = section.time_limit
    limit = max(60.0, budget if own is None else min(own, budget))
    if own is not None and limit >= own:
        return config
    say(stage, f"time limit {format_seconds(limit)} of the run's {format_seconds(total)} "
               f"({format_seconds(elapsed)} spent)")
    return config.model_copy(update={stage: section.model_copy(update={"time_limit": limit})})


def _write_html(report: dict, out: Path, task, examples) -> None:
    from automl.report.html import write_html_report

    try:
        write_html_report(report, out / "report.html", task, examples)
    except Exception as err:  # noqa: BLE001 - the JSON report is the record; HTML is a view
        say("report", f"HTML report not written: {type(err).__name__}: {err}")
