"""A trial's lease on a worker: the oracle hears after every epoch, and from a thread between
epochs, that the trial still trains; a trial the oracle says has ended stops."""

from __future__ import annotations

import contextlib
import threading
from typing import Optional

import keras
import keras_tuner

RUNNING = keras_tuner.engine.trial.TrialStatus.RUNNING


#: A worker reports its running trial this many times per lease: a first epoch that traces the
#: training step, or any epoch longer than the lease, must not lose the trial to another worker.
HEARTBEATS_PER_LEASE = 4


@contextlib.contextmanager
def keep_lease(oracle, trial_id: str, every: Optional[float]):
    """Reports `trial_id` to `oracle` every `every` seconds from a thread while the block runs
    (and until the oracle says the trial has ended); nothing when `every` is None."""
    if not every:
        yield
        return
    stop = threading.Event()

    def beat():
        while not stop.wait(every):
            try:
                if oracle.get_trial(trial_id).status != RUNNING:
                    return
            except Exception:  # noqa: BLE001 - the chief away for a moment: the next beat or epoch tells
                continue

    thread = threading.Thread(target=beat, name=f"lease-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


class ReportEachEpoch(keras.callbacks.Callback):
    """Tells the oracle after every epoch that the trial is still training (its lease, when the
    search is spread over workers), and ends a trial the oracle says has ended: another worker
    took it over and finished it."""

    def __init__(self, oracle, trial_id: str):
        super().__init__()
        self.oracle, self.trial_id = oracle, trial_id

    def __deepcopy__(self, memo):  # KerasTuner copies each trial's callbacks; the oracle is shared
        return ReportEachEpoch(self.oracle, self.trial_id)

    def on_epoch_end(self, epoch, logs=None):
        if self.oracle.get_trial(self.trial_id).status != RUNNING:
            self.model.stop_training = True
