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
from automl.leaderboard import exports_lines
from automl.precision import policy_restored_after
from automl.progress import format_seconds, interruption_name, say, say_table
from automl.run_lock import run_directory_lock
from automl.run_dir import (EXPORT, HTML, PARTIAL_EXPORT, PARTIAL_HTML, PARTIAL_ZIP, REPORT, ZIP, Recorder,
                            as_published, data_fingerprint, fingerprint, fresh_partial_export, prepare_search_dir,
                            search_fingerprint)


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


def run_pipeline(config, arrays=None, out_dir: Optional[str | Path] = None, command: str = "") -> RunArtifacts:
    """Runs a whole pipeline; returns the model, data and report.

    Args:
        config: a validated `PipelineConfig`.
        arrays: optional in-memory data, `(inputs, targets)`, from the Python API.
        out_dir: run directory; defaults to `config.output_dir()`.
        command: what started the run (`automl run ...`, `automl.fit(...)`), for the report.
    """
    from automl.compression import require_tfmot
    from automl.distributed import require_ray
    from automl.runtime import refuse_multi_worker

    refuse_multi_worker()  # before any work, not after the data and the selection
    require_tfmot(config.export.compression.techniques)
    require_ray(config.search.engine, config.search.ray.address)
    out = Path(out_dir or config.output_dir())
    with run_directory_lock(out, "run"), policy_restored_after():
        return _run_locked(config, arrays, out, command)


def _run_locked(config, arrays, out: Path, command: str) -> RunArtifacts:
    from automl.tasks import get_task
    from automl.versions import machine, package_versions

    (out / "pipeline.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    task = get_task(config.task)
    recorder = Recorder(out, {"status": "running", "task": config.task, "name": config.run_name(),
                               "schema_version": config.schema_version, "seed": config.seed,
                               "timings": {},
                               "run": {"started": time.strftime("%Y-%m-%d %H:%M %Z"), "command": command,
                                       "versions": package_versions(), "machine": machine()}})
    limit = config.time_limit
    ends = (f"; time limit {format_seconds(limit)}, ends by {time.strftime('%H:%M', time.localtime(time.time() + limit))}"
            if limit else "")
    say("run", f"{config.task} -> {out}{ends}")
    try:
        artifacts = _run_stages(config, task, arrays, out, recorder)
    except BaseException as err:
        report = recorder.report
        if isinstance(err, KeyboardInterrupt):
            # Every stage done and the result staged: the publication's renames were next.
            when = ("while publishing the result" if report.get("status") == "succeeded"
                    else f"during the {report.get('stage', 'first')} stage")
            report["status"] = "interrupted"
            report["error"] = f"interrupted ({interruption_name(err)}) {when}"
        else:
            report["status"] = "failed"
            report["error"] = f"{type(err).__name__}: {err}"
            report["traceback"] = traceback.format_exc()
            if getattr(err, "detail", None):
                report["error_detail"] = err.detail
        try:
            report_path, html_path = recorder.publish_incomplete()
            _write_html(report, html_path, task, None)
        except OSError as unwritten:  # a full disk: the error that stopped the run is the one to show
            say("done", f"{report['status']}; this run's report could not be written: {unwritten}")
            raise err from None
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


def load_run_data(config, task, arrays, out: Path):
    """The data, its profile, the fingerprint the search depends on, and what the task's scorer
    prepared before the search (a GAN's feature network, kept in before_search/; None when nothing):
    the same for a chief and its workers."""
    data = task.load_data(config, arrays=arrays)
    profile = task.profile(data)
    say("data", task.report_view.describe_profile(profile))
    data_print = data_fingerprint(config.data.path, arrays)
    # A task's own work before the search is part of what the search results depend on, and so are the
    # sections the task's config adds to the shared ones (a GAN's feature network settings, say).
    prepared_print = fingerprint(data_print, config.seed, _task_sections(config))
    prepared = task.scorer.before_search(data, config, out / "before_search", prepared_print)
    return data, profile, prepared_print if prepared else data_print, prepared


def _task_sections(config) -> dict:
    """The config sections a task adds beside every pipeline's (`PipelineConfig`'s fields)."""
    from automl.config.schema import PipelineConfig

    own = set(type(config).model_fields) - set(PipelineConfig.model_fields)
    return config.model_dump(mode="json", include=own)


def _run_stages(config, task, arrays, out: Path, recorder: Recorder) -> RunArtifacts:
    import warnings

    from automl.selector import select_families

    for pattern in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)

    report = recorder.report
    with recorder.stage("data"):
        data, report["dataset"], data_print, prepared = load_run_data(config, task, arrays, out)
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

    from automl.budget import RunBudget
    from automl.finetune import finetune
    from automl.runtime import choose_runtime
    from automl.search import run_search, search_settings

    runtime = choose_runtime(config)
    report["runtime"] = runtime.to_report()
    say("runtime", f"{runtime.name}, precision {runtime.mixed_precision}")
    budget = RunBudget(config, recorder, started=recorder.started)
    _refuse_a_limit_too_short(config, task, data, selection, runtime, budget)
    search_print = search_fingerprint(config, data_print)
    with recorder.stage("search", search_print):
        prepare_search_dir(out, search_print)
        settings = search_settings(config, selection)
        result = run_search(config, task, data, selection, runtime, out, settings,
                            time_limit=budget.stage_limit("search"))
        report["search"] = result.to_report()
        report["best"] = {k: v for k, v in result.best.items() if not k.startswith("_")}
    # Its time limit is a budget: more time continues the saved epochs instead of starting over.
    finetune_print = fingerprint(search_print, config.finetune.model_dump(mode="json", exclude={"time_limit"}),
                                 report["best"])
    with recorder.stage("finetune", finetune_print):
        if config.finetune.enabled:
            budget.keep_reserve(_measured_reserve(config, task, data, result.best, runtime))
            limit = budget.stage_limit("finetune")
            tuned = finetune(config, task, data, result.best, result.best_weights, runtime, out / "finetune",
                             finetune_print, time_limit=limit)
            report["finetune"] = tuned.to_report()
            tuned = _with_second_choice(config, task, data, result, tuned, runtime, out, finetune_print, report,
                                        limit)
            model = tuned.model
            evidence = _backtests(config, task, data, result.best, tuned, runtime, out / "finetune", finetune_print,
                                  budget)
            if evidence is not None:
                report["backtests"] = evidence
        else:
            model = _best_trial_model(config, task, data, result, runtime)
            report["finetune"] = {"skipped": True}
            evidence = None
    from automl.families import get_family

    best_family = get_family(result.best["family"])
    best_hp = result.best["_hp"]
    view = task.examples.for_family(data, best_family, result.best["pretrained"])
    # Trained in mixed precision or not, what is evaluated, exported and compressed computes in float32.
    from automl.precision import float32_from_now_on

    model = float32_from_now_on(model)
    # What is evaluated, exported and verified (a GAN would hand over its generator); compression
    # fine-tunes the model as trained.
    trained = model
    model, inference = task.inference.choose(model, view, best_hp, config, evidence)
    if inference:
        report["inference"] = inference
        say("evaluate", f"inference model: {task.report_view.describe_inference(inference)}")
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
        report["headline_metric"] = task.goal.headline
        examples = task.report_view.report_examples(view, score.targets, score.outputs)
        if examples:
            report["report_examples"] = examples
        say("evaluate", f"test {task.goal.headline}={score.metrics[task.goal.headline]:.4f} "
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
    if failures:
        # A result that fails its own gates never replaces a complete one (its bundle stays in
        # export.partial/).
        raise PipelineFailed("; ".join(failures))
    zip_bundle(out / PARTIAL_EXPORT, out / PARTIAL_ZIP, EXPORT)
    as_published(out, rows)
    report["export_dir"], report["bundle_zip"] = str(out / EXPORT), str(out / ZIP)
    report["status"] = "succeeded"
    report.pop("stage", None)
    unused = budget.unused_note(report)
    if unused:
        report["time_notes"] = [unused]
        say("done", unused)
    _write_html(report, out / PARTIAL_HTML, task, (view, score.inputs, score.targets, score.outputs))
    recorder.publish_complete()
    say_table("done", exports_lines(report))
    say("done", f"{report['status']} in {format_seconds(report['timings']['total_seconds'])}; "
                f"report: {out / HTML}")
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
        say("evaluate", f"baseline {name}: test {task.goal.headline}={metrics[task.goal.headline]:.4f}")
    for warning in task.scorer.baseline_warnings(report["test_metrics"], baselines["test"]):
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


def run_worker(config, out_dir: Optional[str | Path] = None, wait_seconds: float = 600.0) -> None:
    """A worker of a search spread over processes (`automl run --worker`): the data and families the
    chief has, then the trials it hands out until its search ends. The chief fine-tunes, exports
    and reports; a worker writes only its trials (in the shared run directory).

    Waits up to `wait_seconds` for the chief to reach its search, and refuses to train for a chief
    whose data or search settings differ from its own."""
    from automl.runtime import refuse_multi_worker

    refuse_multi_worker()
    out = Path(out_dir or config.output_dir())
    worker_id = os.environ.get("KERASTUNER_TUNER_ID", "")
    # One process per worker id: the chief's oracle keeps one trial per id, so two would share it.
    with run_directory_lock(out / "workers" / worker_id, f"run --worker (worker id {worker_id})",
                            busy=f"--worker-id {worker_id!r} is taken by another worker of this search"), \
            policy_restored_after():
        _work(config, out, wait_seconds)


def _work(config, out: Path, wait_seconds: float) -> None:
    import json

    from automl.errors import ConfigError
    from automl.runtime import choose_runtime
    from automl.search import run_search
    from automl.selector import select_families
    from automl.tasks import get_task

    task = get_task(config.task)
    data, profile, data_print, _ = load_run_data(config, task, None, out)
    selection = select_families(config.task, profile, config)
    runtime = choose_runtime(config)
    wanted = search_fingerprint(config, data_print)
    stamp = out / "search" / "fingerprint.json"
    from automl.distributed import CHIEF_SILENCE_SECONDS, chief_address, chief_problem
    from automl.run_lock import is_held

    waited, host_port = time.time(), "{}:{}".format(*chief_address())
    if not stamp.exists():
        say("search", f"waiting for the search of the chief at {host_port} in {out}")
    while not stamp.exists():
        # A chief loads the data and picks families before its search starts, holding the run directory.
        silent = time.time() - waited
        if silent > CHIEF_SILENCE_SECONDS and not is_held(out) and chief_problem() is not None:
            raise ConfigError(f"--chief-address {host_port}: no chief answers there or holds {out} after "
                              f"{CHIEF_SILENCE_SECONDS:.0f} s; start it with automl run FILE --chief --listen "
                              f"{host_port} --out {out}, or fix the address")
        if silent > wait_seconds:
            raise ConfigError(f"no search in {out} after {format_seconds(wait_seconds)}: start the chief with the "
                              f"same file and run directory (automl run FILE --chief --out {out})")
        time.sleep(2)
    if json.loads(stamp.read_text()).get("fingerprint") != wanted:
        raise ConfigError(f"the chief's search in {out} is over other data or search settings than this worker's: "
                          f"run both from the same pipeline file and data")
    from automl.distributed import reach_chief

    reach_chief()  # the search's folder is there: its chief listens, or is gone
    from automl.budget import RunBudget

    # A worker searches no longer than the chief's search may (the chief hands out each trial's share).
    limit = RunBudget(config).stage_limit("search")
    say("search", f"worker {os.environ.get('KERASTUNER_TUNER_ID')}: training the trials of the chief at "
                  f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}")
    run_search(config, task, data, selection, runtime, out, time_limit=limit)
    say("done", "the chief's search has ended; the chief fine-tunes, exports and reports")


def _with_second_choice(config, task, data, result, tuned, runtime, out: Path, finetune_print: str, report: dict,
                        time_limit: Optional[float]):
    """Fine-tunes the search's second choice with the time the best left of `time_limit`
    (`finetune_second`) and keeps whichever validates better; when that is the second, it
    becomes `result.best`."""
    from automl.finetune import finetune_second, preferred
    from automl.search_result import public_fields

    if result.second is None:
        return tuned
    second_print = fingerprint(finetune_print, public_fields(result.second))
    second = finetune_second(config, task, data, result, tuned, runtime, out / "finetune_second", second_print,
                             time_limit)
    if second is None:
        return tuned
    val_examples = task.examples.count(data, "val")
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


def _backtests(config, task, data, best: dict, tuned, runtime, folder: Path, finetune_print: str,
               budget) -> Optional[dict]:
    """The task's evidence for choosing what ships (`Inference.backtest`), gathered in the time
    fine-tuning left before the reserve; kept in `folder` with the fine-tuning's fingerprint and
    kept trial and its epochs, so a rerun of the same work reuses it instead of training again (none
    is kept when none ran: a rerun with more time may run them)."""
    import json

    from automl.families import get_family
    from automl.run_dir import write_json

    stored_at = folder / "backtests.json"
    key = fingerprint(finetune_print, best["trial_id"], tuned.epochs_run)
    if stored_at.exists():
        stored = json.loads(stored_at.read_text())
        if stored.get("fingerprint") == key:
            return stored["evidence"]
    left = budget.left()
    seconds = None if left is None else max(0.0, left - (budget.reserve or 0.0))
    family = get_family(best["family"])
    view = task.examples.for_family(data, family, best["pretrained"])
    with runtime.strategy.scope():
        evidence = task.inference.backtest(view, family, best["_hp"], best["pretrained"], tuned, seconds, config)
    if evidence is not None and evidence.get("folds"):
        write_json(stored_at, {"fingerprint": key, "evidence": evidence})
    return evidence


def _refuse_a_limit_too_short(config, task, data, selection, runtime, budget) -> None:
    """Refuses, before any training, a run-wide `time_limit` too short for one epoch of the cheapest
    selected family in the search and one in fine-tuning, with evaluation, export and verification
    after them; the error names the shortest limit that works. Timed only for limits up to
    CHECKED_LIMIT (it costs a few seconds: one model built, run and converted)."""
    import math

    from automl.budget import ModelTiming, shortest_limit
    from automl.errors import ConfigError
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.mediapipe_tasks import will_run
    from automl.search import pinned_hyperparameters, trial_sample

    if config.time_limit is None or config.time_limit > CHECKED_LIMIT or not task.scorer.evaluation_is_one_pass:
        return
    cheapest = selection.candidates[0]  # fast families come first
    family = get_family(cheapest.family)
    hp = pinned_hyperparameters(config.search.hyperparameters)
    with runtime.strategy.scope():
        hypermodel = TaskHyperModel(family, task, data, pretrained=cheapest.pretrained, seed=config.seed)
        model = hypermodel.build(hp)
    timing = ModelTiming.measure(model, task, hypermodel.data, hp)
    train = task.examples.count(data, "train")
    sample = trial_sample(config.search, family, task, data, config.seed)
    needed = shortest_limit(budget.elapsed(), timing, train if sample is None else len(sample), train, config.export,
                            will_run(task))
    if config.time_limit < needed:
        shortest = 10 * math.ceil(needed / 10)
        raise ConfigError(
            f"time_limit: {format_seconds(config.time_limit)} is too short for this data: one epoch of "
            f"{cheapest.family} in the search and one in fine-tuning, then evaluation, export and verification, "
            f"need about {format_seconds(needed)} ({format_seconds(budget.elapsed())} already spent loading and "
            f"selecting). Received: time_limit={config.time_limit:g}; set time_limit: {shortest}s or more")


#: Run-wide time limits up to this many seconds are checked before training (`_refuse_a_limit_too_short`).
CHECKED_LIMIT = 600.0


def _measured_reserve(config, task, data, best: dict, runtime) -> Optional[float]:
    """Seconds evaluation, export and verification will take, from the best configuration's model
    timed (one Keras pass over the test split, one conversion); None where it is not timed (no
    run-wide limit, or a task whose evaluation is not one pass, e.g. a GAN's sampling)."""
    if not config.time_limit or not task.scorer.evaluation_is_one_pass:
        return None
    from automl.budget import ModelTiming, measured_reserve
    from automl.families import get_family
    from automl.hypermodel import TaskHyperModel
    from automl.mediapipe_tasks import will_run

    from automl.precision import float32_policy

    # Evaluated and exported in float32, whatever it trains in.
    with runtime.strategy.scope(), float32_policy():
        hypermodel = TaskHyperModel(get_family(best["family"]), task, data, pretrained=best["pretrained"],
                                    seed=config.seed)
        model = hypermodel.build(best["_hp"])
    timing = ModelTiming.measure(model, task, hypermodel.data, best["_hp"], convert="tflite" in config.export.formats)
    in_mediapipe = will_run(task)
    reserve = measured_reserve(timing, config.export, in_mediapipe)
    say("finetune", f"{format_seconds(reserve)} kept for evaluation, export and verification (a test pass takes "
                    f"{timing.test_pass_seconds:.1f}s, a conversion {timing.conversion_seconds:.1f}s"
                    f"{', and MediaPipe runs each file' if in_mediapipe else ''})")
    return reserve


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
