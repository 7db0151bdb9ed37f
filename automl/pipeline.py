"""Runs the stages in order: data, profile, select, search, fine-tune,
evaluate, export, verify, report.

Each stage takes the previous stage's artifact and the config. The report
is rewritten as every stage starts and ends, so a failure loses nothing that
was done; search and fine-tuning save their work in the run directory, so
rerunning the same command continues where an interrupted run stopped (see
`run_dir.py`).
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from automl.errors import PipelineFailed
from automl.progress import format_seconds, say
from automl.run_dir import (REPORT, Recorder, data_fingerprint, fingerprint, fresh_partial_export,
                            prepare_search_dir, search_fingerprint, swap_in_export)


@dataclass
class RunArtifacts:
    model: object
    task: object
    data: object
    report: dict
    out_dir: Path
    hp: object = None
    #: The model as trained, when `model` is what `task.inference_model` made of it, and what it said.
    trained: object = None
    inference: Optional[dict] = None


def run_pipeline(config, arrays=None, out_dir: Optional[str | Path] = None) -> RunArtifacts:
    """Runs a whole pipeline; returns the model, data and report.

    Args:
        config: a validated `PipelineConfig`.
        arrays: optional in-memory data, `(inputs, targets)`, from the Python API.
        out_dir: run directory; defaults to `config.output_dir()`.
    """
    from automl.runtime import refuse_multi_worker
    from automl.tasks import get_task

    refuse_multi_worker()  # before any work, not after the data and the selection
    out = Path(out_dir or config.output_dir())
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    task = get_task(config.task)
    recorder = Recorder(out, {"status": "running", "task": config.task, "name": config.run_name(),
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
        report_path, html_path = recorder.publish(complete=False)
        _write_html(report, html_path, task, None)
        kept = "" if report_path.name == REPORT else f"; the last complete run's report and bundle stay in {out}"
        say("done", f"{report['status']}; this run's report: {report_path}{kept}")
        raise
    return artifacts


_QUIET_WARNINGS = (
    # Keras warns on every fit with a tf.data input; our datasets are shuffled already.
    r"`shuffle=True` was passed",
    # Reloading a trial's weights skips its optimizer state, which fine-tuning rebuilds.
    r"Skipping variable loading for optimizer",
)


def _load_data(config, task, arrays, out: Path):
    """The data, its profile, the fingerprint the search depends on, and what the task prepared
    before the search (a GAN's feature network, kept in before_search/; None when nothing):
    the same for a chief and its workers."""
    data = task.load_data(config, arrays=arrays)
    profile = task.profile(data)
    say("data", task.describe_profile(profile))
    data_print = data_fingerprint(config.data.path, arrays)
    # A task's own work before the search is part of what the search results depend on.
    prepared_print = fingerprint(data_print, config.seed, config.model_dump(mode="json").get("quality"))
    prepared = task.before_search(data, config, out / "before_search", prepared_print)
    return data, profile, prepared_print if prepared else data_print, prepared


def search_time_limit(config) -> Optional[float]:
    """The search's own time limit, within its share of the run's `time_limit`."""
    limit = config.search.time_limit
    if config.time_limit:
        share = max(60.0, SEARCH_SHARE * config.time_limit)
        if limit is None or share < limit:
            limit = share
    return limit


def _run_stages(config, task, arrays, out: Path, recorder: Recorder) -> RunArtifacts:
    import warnings

    from automl.selector import select_families

    for pattern in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)

    report = recorder.report
    with recorder.stage("data"):
        data, report["dataset"], data_print, prepared = _load_data(config, task, arrays, out)
        if prepared:
            report["before_search"] = prepared
    with recorder.stage("select"):
        selection = select_families(config.task, report["dataset"], config)
        report["selector"] = selection.to_report()
        for c in selection.candidates:
            say("select", f"{c.family} (score {c.score}): {'; '.join(c.reasons)}")
        for e in selection.excluded:
            say("select", f"not {e['family']}: {e['reason']}")
        _check_pinned_exports(config, selection)

    from automl.finetune import finetune
    from automl.runtime import choose_runtime
    from automl.search import run_search, search_settings

    runtime = choose_runtime(config)
    report["runtime"] = runtime.to_report()
    say("runtime", f"{runtime.name}, precision {runtime.mixed_precision}")
    search_print = search_fingerprint(config, data_print)
    with recorder.stage("search", search_print):
        prepare_search_dir(out, search_print)
        settings = search_settings(config, selection)
        result = run_search(_within_run_budget(config, "search", recorder), task, data, selection, runtime, out,
                            settings)
        report["search"] = result.to_report()
        report["best"] = {k: v for k, v in result.best.items() if not k.startswith("_")}
    # Its time limit is a budget: more time continues the saved epochs instead of starting over.
    finetune_print = fingerprint(search_print, config.finetune.model_dump(mode="json", exclude={"time_limit"}),
                                 report["best"])
    with recorder.stage("finetune", finetune_print):
        if config.finetune.enabled:
            config = _within_run_budget(config, "finetune", recorder,
                                        _test_pass_seconds(config, task, data, result.best, runtime))
            tuned = finetune(config, task, data, result.best, result.best_weights, runtime, out / "finetune",
                             finetune_print)
            report["finetune"] = tuned.to_report()
            tuned = _with_second_choice(config, task, data, result, tuned, runtime, out, finetune_print, report)
            model = tuned.model
        else:
            model = _best_trial_model(config, task, data, result, runtime)
            report["finetune"] = {"skipped": True}
    from automl.families import get_family

    best_family = get_family(result.best["family"])
    best_hp = result.best["_hp"]
    view = task.prepare(data, best_family, result.best["pretrained"])
    # What is evaluated, exported and verified (a GAN would hand over its generator); compression
    # fine-tunes the model as trained.
    trained = model
    model, inference = task.inference_model(model, view, best_hp, config)
    if inference:
        report["inference"] = inference
        say("evaluate", f"inference model: {task.describe_inference(inference)}")
    report["fingerprint"] = fingerprint(finetune_print, config.export.model_dump(mode="json"),
                                        config.finetune.enabled)
    # A rerun that trained nothing new, into a complete run of the same work, has nothing to redo.
    tuned_report = report["finetune"]
    trained_now = config.finetune.enabled and tuned_report.get("resumed_from_epoch") != tuned_report["epochs_run"]
    complete = None if trained_now else recorder.complete_report(report["fingerprint"])
    if complete is not None:
        recorder.discard()
        say("done", f"already complete for this data and these settings; nothing redone: {out / REPORT}")
        return RunArtifacts(model, task, view, complete, out, best_hp, trained, inference)
    from automl.assess import make_bundle, score_on_test
    from automl.model_card import zip_bundle

    with recorder.stage("evaluate"):
        score = score_on_test(model, task, view, best_hp)
        report["test_metrics"] = score.metrics
        report["headline_metric"] = task.headline_metric
        examples = task.report_examples(view, score.targets, score.outputs)
        if examples:
            report["report_examples"] = examples
        say("evaluate", f"test {task.headline_metric}={score.metrics[task.headline_metric]:.4f} "
                        f"on {score.examples} held-out examples")
        _add_baselines(report, task, view, best_hp)
    bundle = make_bundle(model, task, view, config, score, fresh_partial_export(out), run_dir=out, hp=best_hp,
                         family=best_family, card=report, trained=trained, inference=inference,
                         stage=recorder.stage)
    report["exports"] = rows = bundle.rows
    for warning in bundle.warnings():
        report.setdefault("warnings", []).append(warning)
    if bundle.predict_check:
        report["predict_agreement"] = bundle.predict_check
    failures = [f"{Path(row['path']).name}: {row['rejected']} (export.require_all is true)"
                for row in bundle.rejected] if config.export.require_all else []
    report["export_dir"] = str(swap_in_export(out, rows))
    report["bundle_zip"] = str(zip_bundle(Path(report["export_dir"])))
    report["status"] = "failed" if failures else "succeeded"
    report.pop("stage", None)
    if failures:
        report["error"] = "; ".join(failures)
    _, html_path = recorder.publish(complete=True)
    _write_html(report, html_path, task, (view, score.inputs, score.targets, score.outputs))
    say("done", f"{report['status']} in {format_seconds(report['timings']['total_seconds'])}; "
                f"report: {html_path}")
    if failures:
        raise PipelineFailed("; ".join(failures))
    return RunArtifacts(model, task, view, report, out, best_hp, trained, inference)


def _add_baselines(report: dict, task, data, hp) -> None:
    """The task's baselines on the test split (and validation, for the leaderboard), with a warning
    for each that beats the model."""
    baselines = task.baselines(data, hp)
    if not baselines:
        return
    report["baselines"] = baselines["test"]
    report["baseline_validation"] = baselines["validation"]
    if baselines.get("notes"):
        report["baseline_notes"] = baselines["notes"]
    for name, metrics in baselines["test"].items():
        say("evaluate", f"baseline {name}: test {task.headline_metric}={metrics[task.headline_metric]:.4f}")
    for warning in task.baseline_warnings(report["test_metrics"], baselines["test"]):
        report.setdefault("warnings", []).append(warning)
        say("evaluate", f"warning: {warning}")


def _check_pinned_exports(config, selection) -> None:
    """Fails before training when pinned hyperparameters rule out a requested export."""
    from automl.convert import check_quantizations
    from automl.families import get_family
    from automl.search import pinned_hyperparameters

    if "tflite" in config.export.formats:
        hp = pinned_hyperparameters(config.search.hyperparameters)
        for candidate in selection.candidates:
            check_quantizations(get_family(candidate.family), hp, config.export.quantizations)


#: Shares of the run-wide `time_limit`: the most the search may take, and what
#: fine-tuning leaves for evaluation, export and verification when that work was not timed (a
#: share, at most RESERVE_MOST seconds).
SEARCH_SHARE = 0.35
RESERVE_SHARE = 0.20
RESERVE_MOST = 180.0
#: A timed reserve: the conversions (SavedModel, four .tflite files) take about EXPORT_SECONDS
#: and the rest about TEST_PASSES Keras passes over the test split (the Keras evaluation, LiteRT
#: on each .tflite file, the bundle check). Measured: Fashion-MNIST's small CNN took 45 s after
#: fine-tuning (10,000 images, 2.7 s a pass), MiniLM on Rotten Tomatoes 4.5 minutes (2,562
#: texts, 50 s a pass), where a fixed 3 minutes overran one and left 2 unused in the other.
EXPORT_SECONDS = 60.0
TEST_PASSES = 5
RESERVE_LEAST = 60.0
RESERVE_MOST_SHARE = 0.5


def reserve_after_finetuning(total: float, test_pass_seconds: Optional[float] = None) -> float:
    """Seconds of a run's `time_limit` kept for evaluation, export and verification: from one
    timed Keras pass over the test split when there is one, else a fixed share."""
    if test_pass_seconds is None:
        return min(RESERVE_SHARE * total, RESERVE_MOST)
    estimate = max(RESERVE_LEAST, EXPORT_SECONDS + TEST_PASSES * test_pass_seconds)
    return min(RESERVE_MOST_SHARE * total, estimate)


def run_worker(config, out_dir: Optional[str | Path] = None, wait_seconds: float = 600.0) -> None:
    """A worker of a search spread over processes (`automl run --worker`): the data and families the
    chief has, then the trials it hands out until its search ends. The chief fine-tunes, exports
    and reports; a worker writes only its trials (in the shared run directory).

    Waits up to `wait_seconds` for the chief to reach its search, and refuses to train for a chief
    whose data or search settings differ from its own."""
    import json

    from automl.errors import ConfigError
    from automl.runtime import choose_runtime, refuse_multi_worker
    from automl.search import run_search
    from automl.selector import select_families
    from automl.tasks import get_task

    refuse_multi_worker()
    out = Path(out_dir or config.output_dir())
    task = get_task(config.task)
    data, profile, data_print, _ = _load_data(config, task, None, out)
    selection = select_families(config.task, profile, config)
    runtime = choose_runtime(config)
    wanted = search_fingerprint(config, data_print)
    stamp = out / "search" / "fingerprint.json"
    waited = time.time()
    while not stamp.exists():
        if time.time() - waited > wait_seconds:
            raise ConfigError(f"no search in {out} after {format_seconds(wait_seconds)}: start the chief with the "
                              f"same file and run directory (automl run FILE --chief --out {out})")
        time.sleep(2)
    if json.loads(stamp.read_text()).get("fingerprint") != wanted:
        raise ConfigError(f"the chief's search in {out} is over other data or search settings than this worker's: "
                          f"run both from the same pipeline file and data")
    config = config.model_copy(update={"search": config.search.model_copy(
        update={"time_limit": search_time_limit(config)})})
    say("search", f"worker {os.environ.get('KERASTUNER_TUNER_ID')}: training the trials of the chief at "
                  f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}")
    run_search(config, task, data, selection, runtime, out)
    say("done", "the chief's search has ended; the chief fine-tunes, exports and reports")


def _within_run_budget(config, stage: str, recorder, test_pass_seconds: Optional[float] = None):
    """A copy of `config` whose `stage` time limit is what is left for this invocation: the
    stage's own limit, within its share of the run's `time_limit`, less what earlier
    invocations of this run already spent in it."""
    section = getattr(config, stage)
    limit = section.time_limit
    if config.time_limit:
        total = config.time_limit
        others = sum(v for k, v in recorder.report["timings"].items() if k not in ("total_seconds", stage))
        reserve = reserve_after_finetuning(total, test_pass_seconds)
        if stage == "search":
            capped = search_time_limit(config)
        else:  # what the run has left, less what evaluation and export after it need
            share = max(60.0, total - reserve - others)
            capped = share if limit is None or share < limit else limit
        if capped != limit:
            limit = capped
            kept = "" if stage == "search" else f"; {format_seconds(reserve)} kept for evaluation and export"
            say(stage, f"time limit {format_seconds(limit)} of the run's {format_seconds(total)} "
                       f"({format_seconds(others)} spent{kept})")
    if limit is not None:
        recorder.report.setdefault("time_limits", {})[stage] = round(limit, 1)
        if config.time_limit:
            recorder.report["time_limits"]["run"] = round(config.time_limit, 1)
            if stage == "finetune":
                recorder.report["time_limits"]["after_finetuning"] = round(reserve, 1)
    spent = recorder.spent(stage)
    if limit is not None and spent:
        left = max(limit - spent, 1e-3)
        say(stage, f"{format_seconds(spent)} of its {format_seconds(limit)} spent in earlier invocations; "
                   f"{format_seconds(left)} left")
        limit = left
    if limit == section.time_limit:
        return config
    return config.model_copy(update={stage: section.model_copy(update={"time_limit": limit})})


def _test_pass_seconds(config, task, data, best: dict, runtime) -> Optional[float]:
    """Seconds one Keras pass over the test split takes with the best configuration's model,
    timed on up to TIMED_EXAMPLES test inputs after a warm-up batch (None: not timed: no run-wide
    time limit, or a task whose evaluation is not one pass, e.g. a GAN's sampling)."""
    if not config.time_limit or not task.timed_reserve:
        return None
    import keras

    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel

    with runtime.strategy.scope():
        hypermodel = TaskHyperModel(get_family(best["family"]), task, data, pretrained=best["pretrained"],
                                    seed=config.seed)
        model = hypermodel.build(best["_hp"])
    inputs, _ = task.eval_arrays(hypermodel.data, "test", best["_hp"])
    total = len(keras.tree.flatten(inputs)[0])
    if not total:
        return None
    timed = min(total, TIMED_EXAMPLES)
    sample = keras.tree.map_structure(lambda a: a[:timed], inputs)
    model.predict(sample, batch_size=TIMED_EXAMPLES, verbose=0)  # the first call traces the graph
    seconds = []
    for _ in range(TIMINGS):
        started = time.time()
        model.predict(sample, batch_size=TIMED_EXAMPLES, verbose=0)
        seconds.append(time.time() - started)
    return min(seconds) / timed * total


#: Test inputs `_test_pass_seconds` times, as one batch (a few seconds for a BERT, a fraction for
#: a small CNN), and how often: the fastest counts. One timing of 512 Fashion-MNIST images once
#: said 26 s a pass where the pass took 4 (a shared CPU's pause), and kept 2 minutes too many.
TIMED_EXAMPLES = 256
TIMINGS = 3


def _with_second_choice(config, task, data, result, tuned, runtime, out: Path, finetune_print: str, report: dict):
    """Fine-tunes the search's second choice with the time the best left (`finetune_second`)
    and keeps whichever validates better; when that is the second, it becomes `result.best`."""
    from automl.finetune import finetune_second, preferred
    from automl.search import public_fields

    if result.second is None:
        return tuned
    second_print = fingerprint(finetune_print, public_fields(result.second))
    second = finetune_second(config, task, data, result, tuned, runtime, out / "finetune_second", second_print)
    if second is None:
        return tuned
    val_examples = task.part_size(data, "val")
    (chosen, kept), why = preferred(task, val_examples, (result.best, tuned), (result.second, second))
    say("finetune", f"kept {chosen['trial_id']}: {why}")
    compared = [{"trial_id": c["trial_id"], "validation": t.validation, "epochs_run": t.epochs_run,
                 "seconds": round(t.seconds, 1), "params": t.model.count_params()}
                for c, t in ((result.best, tuned), (result.second, second))]
    if chosen is result.second:
        result.best, result.best_weights = result.second, result.second_weights
        report["best"] = public_fields(result.second)
    report["finetune"] = {**kept.to_report(), "compared": compared, "kept": chosen["trial_id"], "why": why}
    return kept


def _best_trial_model(config, task, data, result, runtime):
    """The best trial's model as the search trained it (fine-tuning disabled)."""
    from automl.errors import SearchError
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel

    if result.best_weights is None:
        raise SearchError("finetune.enabled is false and the best trial's weights could not be reloaded: "
                          "enable fine-tuning or rerun the search")
    best = result.best
    with runtime.strategy.scope():
        model = TaskHyperModel(get_family(best["family"]), task, data, pretrained=best["pretrained"],
                               seed=config.seed).build(best["_hp"])
        model.load_weights(result.best_weights)
    return model


def _write_html(report: dict, path: Path, task, examples) -> None:
    from automl.report.html import write_html_report

    try:
        write_html_report(report, path, task, examples)
    except Exception as err:  # noqa: BLE001 - the JSON report is the record; HTML is a view
        say("report", f"HTML report not written: {type(err).__name__}: {err}")
