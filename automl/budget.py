"""The run's time, in one place: the run's `time_limit` and each stage's own limit as the user wrote
them, what earlier invocations of the same work spent, each stage's share, and the reserve kept for
evaluation, export and verification (measured on the best configuration). Stages ask it how long
they may take; the config stays what the user wrote.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from automl.progress import format_seconds, say

#: The most of the run's `time_limit` the search may take; fine-tuning gets what is left, less the
#: reserve after it.
SEARCH_SHARE = 0.35
#: The reserve when it cannot be measured (a task whose evaluation is not one pass over the test
#: split, say a GAN's sampling): a share of the run, at most RESERVE_MOST seconds.
RESERVE_SHARE = 0.20
RESERVE_MOST = 180.0
#: A measured reserve. `conversion_seconds` times the first SavedModel and float32 conversion
#: (both trace the model); each further file takes about CONVERSION_SHARE of that (small CNN: 1.44 s
#: measured, 0.56 of it the SavedModel, 0.75 each further conversion); an int8 file counts twice
#: and first runs its representative examples about CALIBRATION_PASSES times. Verification runs
#: TEST_PASSES passes over the test split besides one per .tflite (the Keras evaluation, the bundle
#: check, an inference wrapper's choice on validation). All of it times SAFETY (a shared CPU's
#: pauses), plus RESERVE_FIXED seconds for the report, model card and zip.
CONVERSION_SHARE = 0.5
CALIBRATION_PASSES = 2
TEST_PASSES = 3
SAFETY = 1.25
RESERVE_FIXED = 3.0
#: Each compression technique runs tfmot in its own process (a TensorFlow start, the twin, its
#: epochs): about this many seconds before its own training, which its epochs add to.
COMPRESSION_SECONDS = 60.0
#: A reserve is at most this share of the run: fine-tuning keeps the rest.
RESERVE_MOST_SHARE = 0.5
#: More than this share of `time_limit` left at the end is said in the report, with why.
UNUSED_SHARE = 0.10


def measured_reserve(timing: "ModelTiming", export, in_mediapipe: bool = False) -> float:
    """Seconds evaluation, export and verification take after fine-tuning, from the best
    configuration's model timed (`ModelTiming`) and what `export` asks for; `in_mediapipe`:
    verification also runs each file in MediaPipe Tasks (`mediapipe_tasks.will_run`)."""
    tflite = list(export.quantizations) if "tflite" in export.formats else []
    weight = sum(2 if q == "int8" else 1 for q in tflite)
    converting = timing.conversion_seconds * (1 - CONVERSION_SHARE + CONVERSION_SHARE * weight) if tflite else 0.0
    if "int8" in tflite:
        converting += CALIBRATION_PASSES * export.representative_examples * timing.example_seconds
    passes = 1 + (TEST_PASSES + len(tflite) if export.verify else 0)
    seconds = SAFETY * (converting + passes * timing.test_pass_seconds) + RESERVE_FIXED
    if in_mediapipe and export.verify and tflite:
        from automl.mediapipe_tasks import check_seconds

        seconds += SAFETY * check_seconds(timing.example_seconds, timing.test_examples, len(tflite))
    return seconds + COMPRESSION_SECONDS * len(export.compression.techniques)


class RunBudget:
    """Who may spend how much of a run's time.

    Args:
        config: the user's `PipelineConfig` (`time_limit`, `search.time_limit`,
            `finetune.time_limit`), never changed.
        recorder: the run's `Recorder`: what each stage spent in earlier invocations of the same
            work (`stages.json`), and where the limits are reported; None for a search worker,
            which only needs its limit.
    """

    def __init__(self, config, recorder=None, started: Optional[float] = None):
        self.total = config.time_limit
        self.spends = config.spend_time_limit
        self.own = {"search": config.search.time_limit, "finetune": config.finetune.time_limit}
        self.recorder = recorder
        self.started = time.time() if started is None else started
        #: What earlier invocations spent, counted as part of the run (their stages' seconds).
        self.earlier = sum(self._spent(stage) for stage in self.own)
        #: Seconds kept for evaluation, export and verification (set by `keep_reserve`).
        self.reserve: Optional[float] = None
        self.limits: dict = {}

    def elapsed(self) -> float:
        """The run's seconds so far: this invocation's wall time and earlier invocations' work."""
        return time.time() - self.started + self.earlier

    def left(self) -> Optional[float]:
        """Seconds of the run's `time_limit` left (None: no run-wide limit)."""
        return None if self.total is None else self.total - self.elapsed()

    def keep_reserve(self, seconds: Optional[float]) -> None:
        """Sets the reserve after fine-tuning: measured seconds, or None for a share of the run."""
        if self.total is None:
            return
        self.reserve = min(RESERVE_SHARE * self.total, RESERVE_MOST) if seconds is None else seconds
        self.reserve = min(self.reserve, RESERVE_MOST_SHARE * self.total)

    def stage_limit(self, stage: str) -> Optional[float]:
        """Seconds `stage` ("search" or "finetune") may take in this invocation: its own limit less
        what earlier invocations spent in it, within its share of the run (the search at most
        SEARCH_SHARE of it; fine-tuning what the run has left but the reserve). None: no limit."""
        spent = self._spent(stage)
        own = self.own[stage]
        limits = [] if own is None else [own - spent]
        if self.total is not None:
            if stage == "search":
                limits.append(SEARCH_SHARE * self.total - spent)
            else:
                limits.append(self.left() - (self.reserve or 0.0))
        if not limits:
            return None
        limit = max(0.0, min(limits))
        self._record(stage, limit, spent)
        return limit

    def unused_note(self, report: dict) -> Optional[str]:
        """When more than UNUSED_SHARE of the run's `time_limit` is left at its end, why: what ended
        the search and the fine-tuning before their limits (None when the time was spent)."""
        if self.total is None:
            return None
        unused = self.total - self.elapsed()
        if unused <= UNUSED_SHARE * self.total:
            return None
        why = []
        search, tuned = report.get("search", {}), report.get("finetune", {})
        if search and not search.get("stopped_by_time_limit"):
            spent = "" if self.spends else "; spend_time_limit is false"
            why.append(f"the search ended with its plan done ({len(search.get('trials', []))} trial(s); "
                       f"search.max_trials and search.epochs set it{spent})")
        if tuned.get("skipped"):
            why.append("fine-tuning is disabled (finetune.enabled: false)")
        elif tuned and not tuned.get("stopped_by_time_limit"):
            from automl.finetune import AUTO_EPOCH_CAP

            ended = ("validation stopped improving (finetune.patience)" if tuned.get("stopped_early") else
                     f"all the epochs finetune.epochs allows (auto: at most {AUTO_EPOCH_CAP} with a time limit)")
            why.append(f"fine-tuning ended after {tuned.get('epochs_run')} epoch(s): {ended}")
            if len(tuned.get("compared", [])) > 1:
                tried = " and ".join(f"{c['trial_id']} ({c['epochs_run']} epochs)" for c in tuned["compared"])
                why.append(f"fine-tuning trained {tried} and kept {tuned.get('kept')}")
        backtests = report.get("backtests") or {}
        if backtests.get("folds"):
            why.append(f"{backtests['folds']} backtest(s) of the kept model ran in {format_seconds(backtests['seconds'])}, "
                       f"no more: {backtests['why_no_more']}")
        return (f"{format_seconds(unused)} of the run's {format_seconds(self.total)} left unused: "
                + ("; ".join(why) or "evaluation and export took less than the reserve kept for them"))

    def _spent(self, stage: str) -> float:
        return self.recorder.spent(stage) if self.recorder is not None else 0.0

    def _record(self, stage: str, limit: float, spent: float) -> None:
        if self.recorder is None:
            return
        limits = self.recorder.report.setdefault("time_limits", {})
        limits[stage] = round(limit + spent, 1)
        if self.total is not None:
            limits["run"] = round(self.total, 1)
            if self.reserve is not None:
                limits["after_finetuning"] = round(self.reserve, 1)
        kept = f"; {format_seconds(self.reserve)} kept for evaluation and export" if stage == "finetune" and \
            self.reserve else ""
        earlier = f" ({format_seconds(spent)} spent in earlier invocations)" if spent else ""
        whole = f" of the run's {format_seconds(self.total)}" if self.total is not None else ""
        say(stage, f"time limit {format_seconds(limit)}{whole}{earlier}{kept}")


#: Training an example costs about this many forward passes (the backward pass and the update),
#: and tracing the training step about this many times tracing prediction.
TRAIN_PASSES = 3.0
TRAIN_TRACE = 2.0
#: Examples a timing runs on (as one batch), and how often: the fastest counts. One timing of 512
#: Fashion-MNIST images once said 26 s a pass where the pass took 4 (a shared CPU's pause).
TIMED_EXAMPLES = 256
TIMINGS = 3


@dataclass
class ModelTiming:
    """One model's costs: tracing its prediction, one example's forward pass after that, the test
    split's size, and converting it (an inference SavedModel and a float32 .tflite)."""

    trace_seconds: float
    example_seconds: float
    test_examples: int
    conversion_seconds: float = 0.0

    @classmethod
    def measure(cls, model, task, data, hp, convert: bool = True) -> "ModelTiming":
        """Times `model` on up to TIMED_EXAMPLES test inputs as one batch (the fastest of TIMINGS
        runs after a first, tracing one) and, with `convert`, one conversion."""
        import keras

        inputs, _ = task.eval_arrays(data, "test", hp)
        total = len(keras.tree.flatten(inputs)[0])
        count = max(1, min(total, TIMED_EXAMPLES))
        sample = keras.tree.map_structure(lambda a: a[:count], inputs)
        started = time.time()
        model.predict(sample, batch_size=count, verbose=0)  # the first call traces the graph
        trace = time.time() - started
        seconds = []
        for _ in range(TIMINGS):
            started = time.time()
            model.predict(sample, batch_size=count, verbose=0)
            seconds.append(time.time() - started)
        return cls(trace, min(seconds) / count, total, _conversion_seconds(model) if convert else 0.0)

    @property
    def test_pass_seconds(self) -> float:
        return self.example_seconds * self.test_examples

    def epoch_seconds(self, examples: int) -> float:
        """One training epoch over `examples`, its step traced first."""
        return TRAIN_TRACE * self.trace_seconds + TRAIN_PASSES * self.example_seconds * examples


def _conversion_seconds(model) -> float:
    """Seconds to write `model` as an inference SavedModel and convert it to a float32 .tflite."""
    import tempfile
    from pathlib import Path

    from automl.convert import convert_tflite, export_saved_model

    started = time.time()
    with tempfile.TemporaryDirectory() as folder:
        export_saved_model(model, Path(folder) / "saved_model")
        convert_tflite(Path(folder) / "saved_model", "float32", None, allow_flex=True)
    return time.time() - started


def shortest_limit(elapsed: float, timing: ModelTiming, search_examples: int, train_examples: int,
                   export, in_mediapipe: bool = False) -> float:
    """The shortest `time_limit` in which a run can train the cheapest family for one search epoch
    and one fine-tuning epoch and still evaluate, export and verify it, `elapsed` seconds in."""
    search = timing.epoch_seconds(search_examples)
    finetune = timing.epoch_seconds(train_examples)
    reserve = measured_reserve(timing, export, in_mediapipe)
    return max(search / SEARCH_SHARE, elapsed + search + finetune + reserve)
