"""The search's oracle: one KerasTuner `Oracle` over every selected family.

The space is one `family` choice with each family's hyperparameters in its
conditional scope, so every trial of every family is scored against the
others. The oracle owns what the search spends:

- the known-good queue: configurations the families choose from the data
  profile run first, the first of every family before any second;
- the deadline: no trial starts after it;
- multi-fidelity (successive halving, asynchronous as in ASHA): trials start
  on rung 0; when a rung has ETA times more finished trials than it has
  promoted, its best unpromoted trial among the top 1/ETA moves up a rung and
  continues from its checkpoint with ETA times the budget;
- new configurations go to families by how they stand: a family ranked k-th
  by its best score gets ETA**-k of the new trials, so one that does badly
  gets fewer;
- the plan fits the model: with epochs left to the time shares, after the first epoch of a fresh
  search's first trial (its tracing counted: a cautious measure), when a rung-0 trial's share
  would train fewer than MIN_UNIT_EPOCHS epochs, fewer new trials are planned
  (`fit_plan_to_epoch`): short trials from scratch are ranked by noise, and their time is taken
  from the model that is kept;
- the time left (`spend_time_left`, under a run-wide time limit): when the
  plan is done and the leading family's shortest trial fits SPEND_TRIALS
  times before the deadline, ETA more trials of that family join the plan
  (their promotions with them), so a search that planned too little does not
  leave its share of the time unused;
- its own state: the known-good queue, saved with KerasTuner's, so a rerun
  resumes where it stopped. Rungs and promotions are read from the trials'
  own values (`tuner/rung`, `tuner/trial_id`), which KerasTuner saves.

Spread over workers (KerasTuner's chief/worker), a trial is leased: its worker
reports at every epoch (`get_trial`, which KerasTuner's gRPC service carries),
and a trial whose worker has not reported for `lease_seconds` goes to the next
worker that asks for one; a worker that comes back to a trial another finished
does not overwrite it (`end_trial`), and it hears so at its next report.

A trial's budget is counted in units: a rung-0 trial is one, a promotion to
rung r continues from ETA**(r-1) to ETA**r units. Under a time limit the tuner
gives each trial its units' share of the time left; without one, units are
epochs times `epochs`.
"""

from __future__ import annotations

import json
import math
import random
import time
from typing import Optional

import keras_tuner

from automl.progress import say

#: Successive halving's reduction factor: a third of each rung moves up.
ETA = 3
#: Hyperparameter values that belong to the oracle's bookkeeping, not to a model.
TUNER_PREFIX = "tuner/"
#: A running trial's share of the search's time left, in seconds (the oracle's bookkeeping).
SHARE_KEY = "tuner/share_seconds"
#: Random draws tried before a family's space counts as exhausted.
MAX_DRAWS = 20
#: A rung-0 trial trains at least this many epochs: when the first trial's first epoch shows the plan
#: would give fewer, the plan has fewer new trials (`fit_plan_to_epoch`). Rankings after an epoch
#: or two from scratch say little, and the time of trials whose weights are dropped is taken from
#: the model that is kept (the Fashion-MNIST scenes' detector, 40 s an epoch in a 10.5-minute
#: search: 6 trials AP50 0.828, 3 trials 0.838, 1 trial 0.850).
MIN_UNIT_EPOCHS = 3
#: The plan grows (`spend_time_left`) while the leading family's shortest trial fits this many times
#: in the time left: a batch of ETA trials and a promotion need about that.
SPEND_TRIALS = 3

_Status = keras_tuner.engine.trial.TrialStatus


def model_values(values: dict) -> dict:
    """A trial's hyperparameter values without the oracle's bookkeeping."""
    return {k: v for k, v in values.items() if not k.startswith(TUNER_PREFIX)}


def bare_name(name: str) -> str:
    """`small_cnn/width` -> `width`: a family's hyperparameter as the family declares it."""
    return name.split("/", 1)[-1]


def family_values(values: dict) -> dict:
    """A trial's values as its family names them (no scope, no `family`, no bookkeeping)."""
    return {bare_name(k): v for k, v in model_values(values).items() if k != "family"}


#: A family with no ended trial yet is taken to need this many times the shortest trial so far.
UNTRIED_COST = 2.0


class CrossFamilyOracle(keras_tuner.Oracle):
    """Known-good first, then successive halving across families (see the module doc).

    Args:
        families: family names in the order the selector gives (fast ones first).
        known_good: {"family": name, **values} configurations, queued in that order.
        pinned: values by the family's own names (`search.hyperparameters`), held in every trial.
        new_trials: configurations to try (rung-0 trials); promotions come on top.
        deadline: `time.time()` after which no trial starts (None: no limit).
        epochs: epochs of a rung-0 trial (under a time limit, a cap its share cuts short).
        epochs_grow: promotions get ETA times the epochs (False: `epochs` more, when time
            shares are the fidelity).
        promote: False for plain random search (every trial on rung 0).
        spend_time_left: grow the plan by ETA trials of the leading family while they fit before
            the deadline (the run's `time_limit` is a budget to spend, not only a cap).
        **kwargs: `keras_tuner.Oracle` arguments (objective, hyperparameters, seed...).
    """

    def __init__(self, families: list[str], known_good: list[dict], *, new_trials: int,
                 deadline: Optional[float], epochs: int, epochs_grow: bool, promote: bool = True,
                 pinned: Optional[dict] = None, lease_seconds: Optional[float] = None,
                 spend_time_left: bool = False, **kwargs):
        super().__init__(max_trials=None, **kwargs)
        self.lease_seconds = lease_seconds
        #: Trials run as Ray tasks (`ray_search.py`): `ran_by` names each trial's node.
        self.on_ray = False
        #: trial id -> when its worker last reported; trial id -> the tuner (worker) that ran it.
        self.reported: dict[str, float] = {}
        #: When each running trial was handed out, and the fewest seconds a trial of each family
        #: ended in (this process's trials).
        self.handed_out: dict[str, float] = {}
        self.family_seconds: dict[str, float] = {}
        self.ran_by: dict[str, str] = {}
        #: tuner id -> when it last asked for a trial.
        self.asked: dict[str, float] = {}
        #: What the leases did, for the report (a trial given to another worker, a stale end ignored).
        self.lease_events: list[str] = []
        #: Say each trial's end (a chief, which trains none itself and would otherwise be silent).
        self.announce = False
        self.families = list(families)
        self.pinned = dict(pinned or {})
        self.new_trials = new_trials
        self.spend_time_left = spend_time_left
        #: New trials added to the plan with the time left (`spend_time_left`).
        self.extra_trials = 0
        #: The new trials planned before the first epoch showed fewer fit, and those that fit
        #: (`fit_plan_to_epoch`; None: the plan stood).
        self.planned_trials: Optional[int] = None
        self.fitted_trials: Optional[int] = None
        self.first_epoch_seconds: Optional[float] = None
        self.deadline = deadline
        self.epochs, self.epochs_grow = epochs, epochs_grow
        self.eta = ETA if promote else None
        self.queue = _interleave(known_good, self.families)

    # --- KerasTuner's Oracle interface -------------------------------------------------

    def populate_space(self, trial_id):
        if self.deadline is not None and time.time() + self.shortest_trial() >= self.deadline:
            # No trial starts that cannot end in time: the time left goes to fine-tuning.
            return {"status": _Status.STOPPED, "values": None}
        promotion = self.next_promotion()
        if promotion is not None:
            parent, rung = promotion
            return self._if_it_fits(self._continuation(parent, rung))
        if self.new_started() >= self.new_trials and not self._grow_plan():
            return {"status": _Status.STOPPED, "values": None}
        leading = self.leading_family() if self.extra_trials else None
        values = self._next_queued() or self._draw(trial_id, [leading] if leading else None)
        if values is None:  # every family's space is exhausted
            return {"status": _Status.STOPPED, "values": None}
        return self._if_it_fits(values)

    def _grow_plan(self) -> bool:
        """With `spend_time_left`, adds ETA new trials of the leading family to the plan when they
        fit before the deadline (SPEND_TRIALS of its shortest trial); True when it did."""
        leading = self.leading_family()
        if not self.spend_time_left or self.deadline is None or leading not in self.family_seconds:
            return False
        if time.time() + SPEND_TRIALS * self.family_seconds[leading] >= self.deadline:
            return False
        self.new_trials = max(self.new_trials, self.new_started()) + ETA
        self.extra_trials += ETA
        say("search", f"the plan is done with {self.deadline - time.time():.0f}s of the search's time left: "
                      f"{ETA} more trials of {leading}")
        return True

    def leading_family(self) -> Optional[str]:
        """The family of the best completed trial so far (None before any)."""
        done = [t for t in self.trials.values() if t.status == _Status.COMPLETED and _finite(t.score)]
        best = min(done, key=lambda t: self._sign() * t.score, default=None)
        return None if best is None else best.hyperparameters.values.get("family")

    def _if_it_fits(self, values: dict) -> dict:
        """A running trial of `values`, or the search's end when the time left is less than the
        family's shortest trial so far (UNTRIED_COST times the shortest of any family for a family
        not yet tried: a bigger model, traced afresh)."""
        if self.deadline is not None and self.family_seconds:
            least = self.family_seconds.get(values.get("family"), UNTRIED_COST * self.shortest_trial())
            if time.time() + least >= self.deadline:
                return {"status": _Status.STOPPED, "values": None}
        return {"status": _Status.RUNNING, "values": values}

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        trial = self._create_trial(tuner_id)
        share = self.trial_share(trial) if trial.status == _Status.RUNNING else None
        if share is not None:
            # Worked out here, where the deadline and the trials ended are known: a worker has neither.
            trial.hyperparameters.values[SHARE_KEY] = round(share, 1)
        return trial

    def _create_trial(self, tuner_id):
        self.asked[tuner_id] = time.time()
        lost = self._take_expired_trial(tuner_id)
        if lost is not None:
            return lost
        ended = {trial_id: self.trials[trial_id].status for trial_id in self.end_order}
        trial = super().create_trial(tuner_id)
        while trial.status == _Status.RUNNING and trial.trial_id in ended:
            # A chief that restarts retries the trials that were running; one a worker finished
            # while the chief was down is not run again.
            trial.status = ended[trial.trial_id]
            self.ongoing_trials.pop(tuner_id, None)
            trial = super().create_trial(tuner_id)
        if trial.status == _Status.RUNNING:
            self.reported[trial.trial_id] = self.handed_out[trial.trial_id] = time.time()
            self.ran_by[trial.trial_id] = tuner_id
        elif trial.status == _Status.STOPPED and self.lease_seconds is not None:
            # The chief stops once every worker it knows has heard the search is over: a worker that
            # went quiet between trials will not ask again.
            busy = set(self.ongoing_trials)
            for quiet in [t for t in self.tuner_ids if t not in busy
                          and time.time() - self.asked.get(t, 0.0) > self.lease_seconds]:
                self.tuner_ids.discard(quiet)
        return trial

    @keras_tuner.synchronized
    def get_trial(self, trial_id):
        """Also a worker's report that it is still training `trial_id` (the tuner asks at every epoch)."""
        self.reported[trial_id] = time.time()
        return super().get_trial(trial_id)

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self.reported[trial_id] = time.time()
        if trial_id in self.end_order:  # a late worker's metrics do not change a finished trial
            return self.trials[trial_id]
        return super().update_trial(trial_id, metrics, step=step)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        if trial.trial_id in self.end_order:
            # A worker whose lease ran out, back after another worker finished its trial. (In one
            # process the tuner's trial is the oracle's own object, so its status says nothing.)
            current = self.trials[trial.trial_id]
            self.lease_events.append(f"trial {trial.trial_id}: a late {trial.status.lower()} end ignored; "
                                     f"it had ended {current.status.lower()} already")
            for tuner_id, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == trial.trial_id:
                    self.ongoing_trials.pop(tuner_id)
            return
        super().end_trial(trial)
        if trial.trial_id in self.handed_out:
            seconds = time.time() - self.handed_out.pop(trial.trial_id)
            family = self.trials[trial.trial_id].hyperparameters.values.get("family")
            self.family_seconds[family] = min(seconds, self.family_seconds.get(family, seconds))
        if self.announce:
            ended = self.trials[trial.trial_id]
            score = f" {self.objective.name}={ended.score:.4f}" if _finite(ended.score) else ""
            say("search", f"trial {trial.trial_id} {ended.status.lower()} on {self.ran_by.get(trial.trial_id)}{score} "
                          f"({len(self.end_order)} ended)")

    def _take_expired_trial(self, tuner_id: str):
        """A running trial whose worker stopped reporting for `lease_seconds`, now `tuner_id`'s."""
        if self.lease_seconds is None or tuner_id in self.ongoing_trials:
            return None
        now = time.time()
        for owner, trial in list(self.ongoing_trials.items()):
            # A trial no report of which this process has seen (the chief restarted) starts its clock now.
            silent = now - self.reported.setdefault(trial.trial_id, now)
            if owner == tuner_id or silent <= self.lease_seconds:
                continue
            self.ongoing_trials.pop(owner)
            self.tuner_ids.discard(owner)  # the chief waits for every known worker before it stops
            self.tuner_ids.add(tuner_id)
            self.ongoing_trials[tuner_id] = trial
            self.reported[trial.trial_id] = now
            self.ran_by[trial.trial_id] = tuner_id
            self.lease_events.append(f"trial {trial.trial_id}: {owner} did not report for {silent:.0f} s; "
                                     f"given to {tuner_id}")
            if self.announce:
                say("search", self.lease_events[-1])
            self.save()
            return trial
        return None

    def get_state(self):
        state = {**super().get_state(), "queue": self.queue, "ran_by": self.ran_by,
                 "lease_events": self.lease_events}
        if self.planned_trials is not None:  # a resumed search keeps the plan its first epoch made
            state.update(planned_trials=self.planned_trials, fitted_trials=self.fitted_trials,
                         first_epoch_seconds=self.first_epoch_seconds)
        return state

    def set_state(self, state):
        super().set_state(state)
        if "planned_trials" in state:
            self.planned_trials = state["planned_trials"]
            self.new_trials = self.fitted_trials = state["fitted_trials"]
            self.first_epoch_seconds = state["first_epoch_seconds"]
        self.queue = list(state["queue"])
        self.ran_by = dict(state.get("ran_by", {}))
        self.lease_events = list(state.get("lease_events", []))

    # --- budget ------------------------------------------------------------------------

    def top_rung(self, new_trials: Optional[int] = None) -> int:
        """The highest rung the plan reaches: ETA**r rung-0 trials feed one trial on rung r."""
        if not self.eta:
            return 0
        new_trials = self.new_trials if new_trials is None else new_trials
        return max(0, int(math.floor(math.log(max(new_trials, 1), self.eta) + 1e-9)))

    def trial_share(self, trial) -> Optional[float]:
        """Seconds of the search's time left for `trial` (running): its units' share of the units
        not yet ended. None without a deadline."""
        if self.deadline is None:
            return None
        units = self.units(rung_of(trial))
        left = max(units, self.planned_units() - self.units_ended())
        return max(0.0, self.deadline - time.time()) * units / left

    def shortest_trial(self) -> float:
        """Seconds the shortest trial ended in so far here (its one epoch, traced): a trial that
        cannot have that much before the deadline is not started. 0 before any ended."""
        return min(self.family_seconds.values(), default=0.0)

    def fit_plan_to_epoch(self, trial_id: str, started: float, epoch_seconds: float) -> Optional[float]:
        """After the first epoch of a fresh search's first trial (`started` then, `epoch_seconds`
        long): when a unit of the plan would train fewer than MIN_UNIT_EPOCHS epochs, fewer new
        trials (at least one), and the new end of this trial's share; None when the plan stands."""
        trial = self.trials.get(trial_id)
        # Only where time shares decide a trial's epochs (search.epochs: auto), not pinned epochs.
        if (self.deadline is None or self.epochs_grow or trial is None or len(self.trials) != 1 or self.end_order
                or self.planned_trials is not None or rung_of(trial) != 0 or epoch_seconds <= 0):
            return None
        search_seconds = self.deadline - started
        fitting_units = search_seconds / (MIN_UNIT_EPOCHS * epoch_seconds)
        planned = self.new_trials
        while self.new_trials > 1 and self.planned_units() > fitting_units:
            self.new_trials -= 1
        if self.new_trials == planned:
            return None
        self.planned_trials, self.fitted_trials = planned, self.new_trials
        self.first_epoch_seconds = round(epoch_seconds, 1)
        share = search_seconds * self.units(0) / self.planned_units()
        trial.hyperparameters.values[SHARE_KEY] = round(share, 1)
        say("search", f"an epoch takes {epoch_seconds:.0f}s: {self.new_trials} new trial(s) of about "
                      f"{share / epoch_seconds:.0f} epochs, not {planned} of "
                      f"{search_seconds / self.planned_units(planned) / epoch_seconds:.1f} "
                      f"(a trial trains at least {MIN_UNIT_EPOCHS} epochs)")
        return started + share

    def units(self, rung: int) -> int:
        """Budget units of a trial on `rung` (a promotion continues from the rung below)."""
        return 1 if rung == 0 else self.eta ** rung - self.eta ** (rung - 1)

    def planned_units(self, new_trials: Optional[int] = None) -> int:
        """Units of the whole plan (of `new_trials` new trials, default the plan's): every new
        trial, and every promotion successive halving makes."""
        new_trials = self.new_trials if new_trials is None else new_trials
        return new_trials + sum(new_trials // self.eta ** r * self.units(r)
                                for r in range(1, self.top_rung(new_trials) + 1))

    def planned_trial_count(self) -> int:
        """Trials in the plan: the new ones and every promotion successive halving makes."""
        return self.new_trials + sum(self.new_trials // self.eta ** r for r in range(1, self.top_rung() + 1))

    def rung(self, trial_id: str) -> int:
        trial = self.trials.get(trial_id)
        return 0 if trial is None else rung_of(trial)

    def trial_units(self, trial_id: str) -> int:
        return self.units(self.rung(trial_id))

    def units_ended(self) -> int:
        return sum(self.trial_units(t.trial_id) for t in self.trials.values() if t.status != _Status.RUNNING)

    def new_started(self) -> int:
        return sum(1 for t in self.trials.values() if rung_of(t) == 0)

    def plan_done(self) -> bool:
        """All new trials started and no promotion left to make."""
        return self.new_started() >= self.new_trials and self.next_promotion() is None

    # --- successive halving ------------------------------------------------------------

    def next_promotion(self):
        """(trial, rung to move it to) for the best trial due a promotion, or None."""
        if not self.eta:
            return None
        promoted = {t.hyperparameters.values["tuner/trial_id"] for t in self.trials.values()
                    if "tuner/trial_id" in t.hyperparameters.values}
        for rung in reversed(range(self.top_rung())):
            done = self._ranked(rung)
            due = len(done) // self.eta
            if sum(1 for p in promoted if self.rung(p) == rung) >= due:
                continue
            for trial in done[:due]:
                if trial.trial_id not in promoted:
                    return trial, rung + 1
        return None

    def _ranked(self, rung: int) -> list:
        """Completed trials on `rung`, best first."""
        done = [t for t in self.trials.values()
                if rung_of(t) == rung and t.status == _Status.COMPLETED and _finite(t.score)]
        return sorted(done, key=lambda t: self._sign() * t.score)

    def _sign(self) -> int:
        return -1 if self.objective.direction == "max" else 1

    def _continuation(self, parent, rung: int) -> dict:
        """The parent's values and where to continue it: from its best epoch's checkpoint.
        KerasTuner counts a trial's best step from the epoch the trial started at."""
        start = int(parent.hyperparameters.values.get("tuner/initial_epoch", 0)) + int(parent.best_step or 0) + 1
        end = self.epochs * self.eta ** rung if self.epochs_grow else start + self.epochs
        return {**model_values(parent.hyperparameters.values), "tuner/trial_id": parent.trial_id,
                "tuner/initial_epoch": start, "tuner/epochs": max(end, start + 1), "tuner/rung": rung}

    # --- new configurations ------------------------------------------------------------

    def _next_queued(self) -> Optional[dict]:
        while self.queue:
            queued = dict(self.queue.pop(0))
            family = queued.pop("family")
            values = self._fill(family, lambda hp: queued.get(bare_name(hp.name), hp.default))
            if _key(values) not in self._tried():
                return values
        return None

    def _tried(self) -> set[str]:
        return {_key(t.hyperparameters.values) for t in self.trials.values()}

    def _draw(self, trial_id: str, families: Optional[list[str]] = None) -> Optional[dict]:
        """A configuration not tried yet, of the family due the next trial (its defaults first),
        or of the first of `families` that has one."""
        rng = random.Random(f"{self.seed}/{trial_id}")
        tried = self._tried()
        for family in families or self.family_order():
            values = self.defaults(family)
            for _ in range(MAX_DRAWS):
                if _key(values) not in tried:
                    return values
                values = self._fill(family, lambda hp: hp.random_sample(rng.randint(0, 2**31)))
        return None

    def defaults(self, family: str) -> dict:
        """The values of `family`'s first trial when no known-good one is queued."""
        return self._fill(family, lambda hp: hp.default)

    def _fill(self, family: str, value_of) -> dict:
        """Values for every hyperparameter active when `family` is chosen.

        Pinned and fixed ones keep their value whatever `value_of` says.
        """
        fixed = keras_tuner.engine.hyperparameters.Fixed
        hps = self.hyperparameters.copy()
        hps.values = {"family": family}
        for _ in range(2):  # a second pass reaches hyperparameters conditional on the first
            for hp in hps.space:
                if hp.name in hps.values or not hps.is_active(hp):
                    continue
                if bare_name(hp.name) in self.pinned:
                    hps.values[hp.name] = self.pinned[bare_name(hp.name)]
                else:
                    hps.values[hp.name] = hp.value if isinstance(hp, fixed) else value_of(hp)
        return hps.values

    def family_order(self) -> list[str]:
        """Families in the order new trials go to them.

        A family without a trial goes first. Then each family's share of the rung-0 trials
        is ETA**-k for the k-th by best score (families whose every trial failed come last),
        and the family furthest below its share is next.
        """
        started = {f: 0 for f in self.families}
        best: dict[str, float] = {}
        for trial in self.trials.values():
            family = trial.hyperparameters.values.get("family")
            if family not in started:
                continue
            if rung_of(trial) == 0:
                started[family] += 1
            if trial.status == _Status.COMPLETED and _finite(trial.score):
                score = self._sign() * trial.score
                best[family] = min(score, best.get(family, score))
        untried = [f for f in self.families if started[f] == 0]
        standing = sorted((f for f in self.families if started[f]),
                          key=lambda f: (f not in best, best.get(f, 0.0)))
        due = sorted(standing, key=lambda f: (started[f] * ETA ** standing.index(f), standing.index(f)))
        return untried + due


def _interleave(configs: list[dict], families: list[str]) -> list[dict]:
    """The first configuration of every family, then every second, ... (family order kept)."""
    per_family = [[c for c in configs if c["family"] == f] for f in families]
    depth = max((len(p) for p in per_family), default=0)
    return [p[i] for i in range(depth) for p in per_family if i < len(p)]


def rung_of(trial) -> int:
    """The successive-halving rung a trial runs on (read from its own values)."""
    return int(trial.hyperparameters.values.get("tuner/rung", 0))


def _key(values: dict) -> str:
    return json.dumps(model_values(values), sort_keys=True, default=str)


def _finite(score) -> bool:
    return score is not None and math.isfinite(score)
