"""The search on a Ray cluster (`search.engine: ray`, `automl run FILE --ray [ADDRESS]`).

This process, the driver, keeps the oracle (`CrossFamilyOracle`: known-good first, halving, each
trial's share of the time) and the search's files in the run directory. Each trial the oracle hands
out runs as a Ray task (`ray_trial.run_trial`) asking for the CPUs and GPUs its family needs
(`search.ray.trial`, `search.ray.families`), on whichever node has them free; as many trials run at
once as the cluster's nodes hold. A task returns the trial's metrics and end; its epochs come back
as they end through a queue that lives on the driver's node.

What the chief/worker path does with leases and heartbeats, Ray does here: a trial whose process or
node is lost runs again (`search.ray.max_retries`) and continues after its last kept epoch
(`hypermodel.KeepEachEpoch` in the trial's folder, shared by the nodes: the run directory on a
shared mount, or `search.ray.storage`). A driver killed and started again with the same command
reloads the oracle from the run directory and hands out again the trials that were running.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Optional

import keras_tuner

from automl.errors import ConfigError, SearchError
from automl.progress import format_seconds, say, start_heartbeat, stop_heartbeat
from automl.ray_trial import RayJob, run_trial

_Status = keras_tuner.engine.trial.TrialStatus

#: How often the driver looks at the cluster's nodes (a node joined or lost changes the trials at once).
NODES_EVERY_SECONDS = 5.0
#: A trial still pending this long after the search's time limit (waiting for a node that never came,
#: or training past its share) is cancelled: the search's limit holds on a cluster too.
LATE_SECONDS = 60.0


def connect(address: Optional[str]):
    """Connects to the cluster `address` names (search.ray.address) and returns a function that lets
    it go (and stops a local cluster started for this run)."""
    import ray

    if ray.is_initialized():  # the caller's own connection (a notebook's ray.init)
        return lambda: None
    options = dict(log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    if address in (None, "local"):
        context = _local_cluster(options)
        say("search", f"Ray: a local cluster for this run ({_cluster_line(context)}; clients need the token in "
                      f"~/.ray/auth_token)")
    elif address == "auto":
        try:
            context = ray.init(address="auto", **options)
            say("search", f"Ray: the running cluster ({_cluster_line(context)})")
        except ConnectionError:
            context = _local_cluster(options)
            say("search", f"Ray: no running cluster found; a local one for this run ({_cluster_line(context)})")
    else:
        try:
            context = ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"search.ray.address {address!r}: no Ray cluster answers there ({first}); start "
                              f"one with `ray start --head` and give its address, or use auto") from None
        say("search", f"Ray: the cluster at {address} ({_cluster_line(context)})")
    return ray.shutdown


def _local_cluster(options: dict) -> None:
    """Starts a local cluster for this run. Ray (2.5x) turns token authentication on for it and warns
    so on stderr each time; the run's line says it instead."""
    import ray

    warner = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = warner.level
    warner.setLevel(logging.ERROR)
    try:
        # "local": a new one; with no address Ray joins a cluster already running on this machine.
        return ray.init(address="local", **options)
    finally:
        warner.setLevel(level)


def _cluster_line(context) -> str:
    """"2 node(s), 8 CPU(s), 1 GPU(s); dashboard http://127.0.0.1:8265" (the dashboard where Ray runs one:
    `ray[default]`)."""
    nodes = alive_nodes()
    cpus = sum(n["Resources"].get("CPU", 0) for n in nodes)
    gpus = sum(n["Resources"].get("GPU", 0) for n in nodes)
    dashboard = getattr(context, "dashboard_url", None)
    return (f"{len(nodes)} node(s), {cpus:g} CPU(s), {gpus:g} GPU(s)"
            + (f"; dashboard http://{dashboard}" if dashboard else ""))


def alive_nodes() -> list[dict]:
    import ray

    return [n for n in ray.nodes() if n.get("Alive")]


def trial_resources(ray_config, family: str, nodes: list[dict]) -> dict:
    """What a trial of `family` asks Ray for: search.ray.families[family], else search.ray.trial, with
    auto worked out from the cluster's nodes. A request no node can hold is a ConfigError."""
    own = ray_config.families.get(family)
    cpus = own.cpus if own is not None and own.cpus != "auto" else ray_config.trial.cpus
    gpus = own.gpus if own is not None and own.gpus != "auto" else ray_config.trial.gpus
    gpu_nodes = [n["Resources"] for n in nodes if n["Resources"].get("GPU", 0) > 0]
    cpu_nodes = [n["Resources"] for n in nodes if n["Resources"].get("CPU", 0) > 0]
    if gpus == "auto":
        gpus = 1 if gpu_nodes else 0
    if cpus == "auto":
        if gpus:  # a GPU node's CPUs shared by its GPUs (of the nodes with that many GPUs)
            holding = [r for r in gpu_nodes if r["GPU"] >= gpus]
            cpus = max(1, int(min((r.get("CPU", 0) / r["GPU"] * gpus for r in holding), default=1)))
        else:  # a whole (smallest) node per trial, as a search on one machine trains
            cpus = max(1, int(min((r["CPU"] for r in cpu_nodes), default=1)))
    if nodes and not any(r.get("CPU", 0) >= cpus and r.get("GPU", 0) >= gpus for r in (n["Resources"] for n in nodes)):
        key = f"search.ray.families.{family}" if own is not None else "search.ray.trial"
        have = ", ".join(f"{r.get('CPU', 0):g} CPU/{r.get('GPU', 0):g} GPU" for r in (n["Resources"] for n in nodes))
        raise ConfigError(f"{key}: a trial asks for {cpus:g} CPU(s) and {gpus:g} GPU(s), but no node of the "
                          f"cluster has that much (nodes: {have})")
    return {"num_cpus": cpus, "num_gpus": gpus}


def capacity(resources: dict, nodes: list[dict]) -> int:
    """How many trials asking for `resources` the nodes hold at once (at least 1: a trial waits for a node)."""
    total = 0
    for node in nodes:
        have = node["Resources"]
        fits = [have.get("CPU", 0) // resources["num_cpus"]] if resources["num_cpus"] else []
        if resources["num_gpus"]:
            fits.append(have.get("GPU", 0) // resources["num_gpus"])
        total += int(min(fits)) if fits else 1
    return max(1, total)


def search_on_ray(tuner, config, task, data, selection, *, epochs: int, deadline: Optional[float]) -> None:
    """Runs the oracle's trials as Ray tasks until the oracle stops and every trial has ended."""
    import ray

    release = connect(config.search.ray.address)
    try:
        folder = Path(tuner.project_dir).parent
        from automl.run_dir import fingerprint

        # This search in this invocation: a worker process keeps one prepared, a node stages its trials under it.
        key = fingerprint(str(folder.resolve()), time.time())[:16]
        job = RayJob(key=key, config=config, selection=selection,
                     deadline=deadline, epochs=epochs, objective=tuner.oracle.objective,
                     search_folder=str(folder.resolve()), storage=_storage(config, folder),
                     tensorboard=tuner.tensorboard_root is not None)
        TrialsOnRay(tuner, config, task, job, ray.put(job), ray.put(data)).run()
    finally:
        release()


def _storage(config, folder: Path):
    from automl.run_dir import fingerprint
    from automl.trial_storage import TrialStorage

    root = config.search.ray.storage
    if root is None:
        return None
    # One search's trials under their own folder: several runs may share the storage.
    return TrialStorage(f"{root.rstrip('/')}/{folder.parent.name}-{fingerprint(str(folder.resolve()))[:8]}")


class TrialsOnRay:
    """The driver's loop: hand out trials while the cluster has room, read epochs as they end, end
    each trial with what its task returns."""

    def __init__(self, tuner, config, task, job: RayJob, job_ref, data_ref):
        import ray
        from ray.util.queue import Queue
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.tuner, self.oracle, self.config, self.job = tuner, tuner.oracle, config, job
        self.oracle.verbose = 0  # KerasTuner's own trial tables on stdout: our lines say it
        self.job_ref, self.data_ref = job_ref, data_ref
        self.shown = task.report_view.shown_metrics()
        # On the driver's node: a worker node lost mid-search takes no epoch lines with it.
        here = ray.get_runtime_context().get_node_id()
        self.reports = Queue(actor_options={"num_cpus": 0, "scheduling_strategy":
                                            NodeAffinitySchedulingStrategy(node_id=here, soft=False)})
        self.remote = ray.remote(run_trial)
        #: ObjectRef -> (slot, trial, when it was handed out)
        self.pending: dict = {}
        # Slots name who runs a trial for the oracle (its tuner id). A killed driver's running trials
        # need none: the reloaded oracle hands them out again before any new one.
        self.free_slots: list[str] = []
        self.slots_made = 0
        self.last_epoch: dict[str, str] = {}
        #: Trials cancelled past the search's time limit (`_cancel_if_late`).
        self.cancelled: set[str] = set()
        self._nodes, self._nodes_at = [], 0.0

    def nodes(self) -> list[dict]:
        if time.time() - self._nodes_at > NODES_EVERY_SECONDS:
            self._nodes, self._nodes_at = alive_nodes(), time.time()
        return self._nodes

    def run(self) -> None:
        import ray

        default = trial_resources(self.config.search.ray, "", self.nodes())
        for family in self.config.search.ray.families:
            if family not in self.tuner.hypermodel.hypermodels:
                raise ConfigError(f"search.ray.families.{family}: not a family this search runs "
                                  f"({', '.join(self.tuner.hypermodel.hypermodels)})")
        start_heartbeat("search", self._running_line)
        idle_since, stopped = None, False
        try:
            while True:
                if not stopped:
                    stopped = self._hand_out(capacity(default, self.nodes()))
                if not self.pending:
                    if stopped:
                        return
                    # The oracle waits for nothing that runs: ask again, but not for ever.
                    idle_since = idle_since or time.time()
                    if time.time() - idle_since > 60:
                        raise SearchError("the search's oracle handed out no trial for 60 s with none running")
                    time.sleep(0.5)
                    continue
                idle_since = None
                self._cancel_if_late()
                ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=1.0)
                self._read_reports()
                for ref in ready:
                    self._end(ref)
                    stopped = False  # an ended trial may let the oracle promote one, or hand out more
        finally:
            stop_heartbeat()
            for ref in self.pending:  # an error here: what still runs for this search stops
                ray.cancel(ref, force=True)

    def _cancel_if_late(self) -> None:
        import ray

        if self.job.deadline is None or time.time() < self.job.deadline + LATE_SECONDS:
            return
        for ref, (_, trial, _) in self.pending.items():
            if trial.trial_id not in self.cancelled:
                self.cancelled.add(trial.trial_id)
                ray.cancel(ref, force=True)

    def _hand_out(self, room: int) -> bool:
        """Hands out trials until the cluster's room is used; True when the oracle says the search is over."""
        while len(self.pending) < room:
            if self.free_slots:
                slot = self.free_slots.pop(0)
            else:
                slot, self.slots_made = f"ray-{self.slots_made}", self.slots_made + 1
                while slot in self.oracle.ongoing_trials:
                    slot, self.slots_made = f"ray-{self.slots_made}", self.slots_made + 1
            trial = self.oracle.create_trial(slot)
            if trial.status != _Status.RUNNING:
                self.free_slots.insert(0, slot)
                return trial.status == _Status.STOPPED
            values = trial.hyperparameters.values
            family = values.get("family")
            parent = self.oracle.trials.get(values.get("tuner/trial_id"))
            resources = trial_resources(self.config.search.ray, family, self.nodes())
            ref = self.remote.options(**resources, max_retries=self.config.search.ray.max_retries,
                                      retry_exceptions=False, name=f"automl trial {trial.trial_id} {family}").remote(
                self.job_ref, self.data_ref, trial, parent, self.reports)
            self.pending[ref] = (slot, trial, time.time())
            asked = f"{resources['num_cpus']:g} CPU" + (f", {resources['num_gpus']:g} GPU" if resources["num_gpus"] else "")
            self.tuner.announce(trial, where=f"; on Ray, {asked}")
        return False

    def _read_reports(self) -> None:
        try:
            count = self.reports.qsize()
            batch = self.reports.get_nowait_batch(count) if count else []
        except Exception:  # noqa: BLE001 - the queue lost: the trials still end with their outcome
            return
        for report in batch:
            trial_id, logs = report["trial_id"], report["logs"]
            trial = self.oracle.trials.get(trial_id)
            family = trial.hyperparameters.values.get("family") if trial else "?"
            self.oracle.ran_by[trial_id] = report["node"]
            self.oracle.reported[trial_id] = time.time()
            shown = " ".join(f"{k}={v:.4f}" for k, v in logs.items() if k in self.shown)
            total = f"/{report['epochs']}" if report.get("epochs") else ""
            self.last_epoch[trial_id] = f"epoch {report['epoch']}{total} ended {time.strftime('%H:%M:%S')}"
            say("search", f"{family} trial {trial_id} epoch {report['epoch']}{total} {shown} "
                          f"({report['seconds']:.0f}s on node {report['node']})")

    def _end(self, ref) -> None:
        import ray

        slot, trial, _ = self.pending.pop(ref)
        self.free_slots.append(slot)
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayTaskError as err:  # an error of the search itself (a full disk), not the trial
            raise err.as_instanceof_cause() from None
        except ray.exceptions.RayError as err:  # lost more often than max_retries allows
            first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
            trial.status = _Status.FAILED
            trial.message = (f"cancelled: still running {LATE_SECONDS:.0f} s after the search's time limit"
                             if trial.trial_id in self.cancelled else
                             f"lost on Ray after {self.config.search.ray.max_retries} retries "
                             f"(search.ray.max_retries): {type(err).__name__}: {first}")
            say("search", f"trial {trial.trial_id} failed: {trial.message}")
            self.oracle.end_trial(trial)
            self.tuner.save()
            return
        self._read_reports()
        for metrics, step in outcome.updates:
            self.oracle.update_trial(trial.trial_id, metrics, step=step)
        self.oracle.ran_by[trial.trial_id] = outcome.node
        if self.job.storage is not None:  # the checkpoint fine-tuning and promotions start from
            self.job.storage.pull(f"trials/trial_{trial.trial_id}",
                                  Path(self.tuner.project_dir) / f"trial_{trial.trial_id}")
        self.oracle.end_trial(outcome.trial)
        self.tuner.save()
        self.tuner.keep_stats(trial.trial_id, outcome.stats)  # its node is the oracle's ran_by
        if outcome.trial.status in ("FAILED", "INVALID") and outcome.trial.message:
            say("search", f"trial {trial.trial_id} failed: {outcome.trial.message.strip().splitlines()[-1][:300]}")
        if self.job.storage is not None:  # the search's state beside its trials: a driver elsewhere resumes it
            project = Path(self.tuner.project_dir)
            self.job.storage.push(project, "trials", files=[*project.glob("*.json"), *project.glob("trial_*/trial.json")])

    def _running_line(self) -> str:
        """"2 trial(s) running on Ray: 0003 (on node 10.0.0.7 5fc6113b; epoch 2/6 ended 14:12:09, 0m41s), ..." """
        running = []
        for _, trial, handed in self.pending.values():
            node = self.oracle.ran_by.get(trial.trial_id)  # the last node that reported an epoch of it
            running.append(f"{trial.trial_id} ({'on node ' + node if node else 'starting'}; "
                           f"{self.last_epoch.get(trial.trial_id, 'no epoch yet')}, "
                           f"{format_seconds(time.time() - handed)})")
        return f"{len(running)} trial(s) running on Ray: " + ", ".join(running)
