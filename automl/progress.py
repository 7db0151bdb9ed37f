"""Progress lines on the terminal: stage, trial i of N, epoch, time left."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Optional

_INTERRUPTED = threading.Event()
_SIGNAL = [None]  # the signal that stopped the run


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `docker stop`, Kubernetes and systemd send), handled as Ctrl-C is."""


def catch_interrupts() -> None:
    """Ctrl-C raises KeyboardInterrupt and SIGTERM `Terminated`, and again at every training batch
    until the run stops.

    A library that swallows the first one (a bare `except:` while a model is traced) cannot
    lose it: the next batch raises it again.
    """
    import signal

    def interrupted(signum, frame):
        _INTERRUPTED.set()
        _SIGNAL[0] = signum
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)


def check_interrupted() -> None:
    if _INTERRUPTED.is_set():
        import signal

        raise Terminated if _SIGNAL[0] == signal.SIGTERM else KeyboardInterrupt


def interruption_name(err: BaseException) -> str:
    """How a run was stopped, for its report and last line."""
    return "SIGTERM" if isinstance(err, Terminated) else "Ctrl-C"


def format_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


_SILENT = threading.Event()
_LAST_LINE = [time.time()]  # when the last progress line was printed
#: A line at least this often while an epoch runs: a long first epoch (tracing, a large model) is
#: not silence.
HEARTBEAT_SECONDS = 15.0


def say(stage: str, message: str) -> None:
    _LAST_LINE[0] = time.time()
    if _SILENT.is_set():
        return
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {stage:<9} {message}", file=sys.stderr, flush=True)


def say_table(stage: str, lines: list[str]) -> None:
    """A table as progress lines (each with its time and stage, as every line of the run)."""
    for line in lines:
        say(stage, line)


_BEATING: list[Optional[threading.Event]] = [None]  # the one heartbeat running, if any


def start_heartbeat(stage: str, describe) -> None:
    """Until `stop_heartbeat`, a line every HEARTBEAT_SECONDS without another progress line: what
    `describe()` says (the epoch and batch reached). One runs at a time: a new one replaces it."""
    stop_heartbeat()
    stop = _BEATING[0] = threading.Event()

    def beat():
        while not stop.wait(1.0):
            if time.time() - _LAST_LINE[0] >= HEARTBEAT_SECONDS:
                say(stage, describe())

    threading.Thread(target=beat, daemon=True).start()


def stop_heartbeat() -> None:
    """Ends the heartbeat (an epoch ended, or a stage did: a failed trial's never outlives it)."""
    if _BEATING[0] is not None:
        _BEATING[0].set()
        _BEATING[0] = None


@contextlib.contextmanager
def quiet_progress(silent: bool = True):
    """No progress line while the block runs (`automl.fit(verbose=0)`); the report keeps them all."""
    if not silent:
        yield
        return
    _SILENT.set()
    try:
        yield
    finally:
        _SILENT.clear()


def epoch_callback(stage: str, label: str, epochs: int, deadline: Optional[float], shown_metrics=("loss", "val_loss")):
    """A Keras callback that prints one line per epoch (the `shown_metrics` it logs) and stops at `deadline`.

    Holds no stream or model reference, so KerasTuner can deep-copy it.
    """
    import keras

    class EpochProgress(keras.callbacks.Callback):
        #: Its batch hook only counts batches (for the heartbeat): it may run beside the training loop.
        async_safe = True

        def on_epoch_begin(self, epoch, logs=None):
            self._start, self._epoch, self._batches = time.time(), epoch, 0
            start_heartbeat(stage, self._still_running)

        def _still_running(self) -> str:
            steps = (self.params or {}).get("steps")
            if not self._batches:
                where = "tracing the model, then its first batch"
            elif steps and self._batches >= steps:
                where = "scoring the validation split"
            else:
                where = f"batch {self._batches}/{steps}" if steps else f"batch {self._batches}"
            return f"{label} epoch {self._epoch + 1}/{epochs}: {where} ({time.time() - self._start:.0f}s)"

        def on_train_end(self, logs=None):
            stop_heartbeat()

        def on_epoch_end(self, epoch, logs=None):
            stop_heartbeat()
            check_interrupted()
            logs = logs or {}
            shown = " ".join(
                f"{k}={v:.4f}" for k, v in logs.items()
                if k in shown_metrics and v is not None
            )
            left = None if deadline is None else deadline - time.time()
            say(stage, f"{label} epoch {epoch + 1}/{epochs} {shown} "
                       f"({time.time() - self._start:.0f}s; time left {format_seconds(left)})")
            if deadline is not None and time.time() >= deadline:
                say(stage, f"{label}: time limit reached, stopping after this epoch")
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            self._batches = batch + 1
            check_interrupted()
            if deadline is not None and time.time() >= deadline:
                self.model.stop_training = True

    return EpochProgress()
