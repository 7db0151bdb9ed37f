"""The search on a real Ray cluster on this machine (`search.engine: ray`): a head node that runs no
trial and two worker nodes of one CPU each (`ray.cluster_utils.Cluster`, the nodes Ray's own tests
start), and the driver run as users run it: `automl run FILE --ray ADDRESS` in a process of its own.

The default run spreads the quickstart's trials over both nodes; the slow ones take a node away
mid-trial and kill the driver with SIGKILL, then run the same command again."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "pipelines" / "quickstart.yaml"
#: "small_cnn trial 0002 epoch 3/6 ... (1s on node 192.0.2.2 5fc6113b)"
EPOCH_LINE = re.compile(r"trial (\d+) epoch (\d+)/(\d+) .*on node \S+ ([0-9a-f]{8})\)")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, workers
    cluster.shutdown()


def command(cluster, out: Path, *settings: str) -> list[str]:
    line = [sys.executable, "-m", "automl", "run", str(QUICKSTART), "--out", str(out), "--ray", cluster.address,
            # Pinned epochs and no time limit: what each trial trains does not depend on the clock.
            "--set", "search.families=[small_cnn]", "--set", "search.time_limit=null",
            "--set", "finetune.epochs=1", "--set", "export.quantizations=[float32]"]
    for setting in settings:
        line += ["--set", setting]
    return line


def start(cluster, out: Path, *settings: str):
    log = out.parent / f"{out.name}.log"
    return subprocess.Popen(command(cluster, out, *settings), stdout=subprocess.DEVNULL,
                            stderr=log.open("a")), log


def epochs_in(log: Path) -> list[tuple[str, int, int, str]]:
    """(trial, epoch, epochs, node id) of every epoch line the driver printed."""
    return [(m[1], int(m[2]), int(m[3]), m[4]) for m in EPOCH_LINE.finditer(log.read_text())]


def wait_for(condition, process, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        assert process.poll() is None, f"the driver ended ({process.returncode}) before {what}"
        time.sleep(0.2)
    raise AssertionError(f"no {what} after {seconds:.0f} s")


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_trials_spread_over_both_nodes_each_once_with_its_node(cluster, tmp_path):
    """With search.ray.storage a second local directory standing in for a mount the nodes share:
    each node trains in a folder of its own and copies the trial there; the driver copies it back."""
    ray_cluster, workers = cluster
    out, mount = tmp_path / "run", tmp_path / "mount"
    done = subprocess.run(command(ray_cluster, out, "search.max_trials=8", "search.epochs=1",
                                  "search.strategy=random", f"search.ray.storage={mount}"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = report_of(out)
    assert report["status"] == "succeeded"
    trials = report["search"]["trials"]
    assert len(trials) == 8 and len({t["trial_id"] for t in trials}) == 8
    assert all(t["status"] == "completed" for t in trials)
    ids = {w.node_id[:8] for w in workers}
    nodes = [t["worker"].split()[-1] for t in trials]
    assert set(nodes) == ids, (nodes, ids)  # both nodes trained, and only they (the head asks for no trial)
    print(f"\ntrials per node: {dict((n, nodes.count(n)) for n in sorted(ids))}")
    assert "Ray: the cluster at" in done.stderr and "on Ray, 1 CPU" in done.stderr
    # The report's table names each trial's node; the terminal shows no KerasTuner table.
    assert "Best val_accuracy So Far" not in done.stdout + done.stderr
    html = (out / "report.html").read_text()
    assert all(node in html for node in ids)
    # The storage holds every trial's checkpoint and the search's state; the run directory got them back.
    (stored,) = [p for p in mount.iterdir() if p.is_dir()]
    for trial in trials:
        name = f"trial_{trial['trial_id'].split('/')[-1]}"
        assert (stored / "trials" / name / "checkpoint.weights.h5").exists()
        assert (stored / "trials" / name / "trial.json").exists()
        assert (out / "search" / "trials" / name / "checkpoint.weights.h5").exists()
        assert not (stored / "trials" / name / "progress.json").exists()  # ended: no kept epoch left
    assert (stored / "trials" / "oracle.json").exists()


@pytest.mark.slow
def test_a_node_lost_mid_trial_the_trial_continues_on_the_other(cluster, tmp_path):
    ray_cluster, workers = cluster
    out = tmp_path / "run"
    process, log = start(ray_cluster, out, "search.max_trials=3", "search.epochs=6", "search.strategy=random")
    try:
        by_node = {w.node_id[:8]: w for w in workers}
        # A trial past its first kept epoch: its node goes.
        cut = wait_for(lambda: next((e for e in epochs_in(log) if e[1] >= 1 and e[1] < e[2]), None), process, 300,
                       "epoch line")
        trial_id, kept, _, node = cut
        ray_cluster.remove_node(by_node[node])
        assert process.wait(timeout=600) == 0, log.read_text()[-3000:]
    finally:
        process.kill()
    report = report_of(out)
    trials = {t["trial_id"].split("/")[-1]: t for t in report["search"]["trials"]}
    assert len(trials) == 3 and all(t["status"] == "completed" for t in trials.values())
    (other,) = set(by_node) - {node}
    assert trials[trial_id]["worker"].split()[-1] == other
    lines = [e for e in epochs_in(log) if e[0] == trial_id]
    after = [e for e in lines if e[3] == other]
    # It went on after an epoch it had kept (at least the one seen), not from its first.
    assert after and after[0][1] > 1 and after[0][1] <= kept + 2, lines
    assert len(trials[trial_id]["history"]) == 6
    print(f"\nnode {node} removed after trial {trial_id}'s epoch {kept}; it went on from epoch {after[0][1]} on "
          f"node {other}; epoch lines of it: {[(e[1], e[3]) for e in lines]}")
    # Each epoch of it ran once, give or take the one under way when the node went.
    assert len(lines) <= 7
    ray_cluster.add_node(num_cpus=1)  # for the next test
    ray_cluster.wait_for_nodes()


@pytest.mark.slow
def test_the_driver_killed_the_same_command_resumes_without_redoing_trials(cluster, tmp_path):
    ray_cluster, _ = cluster
    out = tmp_path / "run"
    settings = ("search.max_trials=4", "search.epochs=5", "search.strategy=random")
    process, log = start(ray_cluster, out, *settings)
    try:
        def one_ended_and_one_under_way():
            text = log.read_text()
            ended = re.findall(r"trial (\d+) completed on", text)
            latest = {}
            for trial_id, epoch, epochs, _ in epochs_in(log):
                latest[trial_id] = (max(epoch, latest.get(trial_id, (0, 0))[0]), epochs)
            running = [(t, e) for t, (e, n) in latest.items() if t not in ended and e < n]
            return (ended, running) if ended and running else None

        ended, running = wait_for(one_ended_and_one_under_way, process, 400, "an ended trial and one under way")
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait()
    finally:
        process.kill()
    first = log.read_text()
    first_epochs = epochs_in(log)
    log.write_text("")
    done = subprocess.run(command(ray_cluster, out, *settings), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    second = done.stderr
    assert "resuming after" in second
    for trial_id in set(re.findall(r"trial (\d+) completed on", first)):  # ended before the kill: not run again
        assert f"(id {trial_id}," not in second
    report = report_of(out)
    trials = report["search"]["trials"]
    assert len(trials) == 4 and all(t["status"] == "completed" for t in trials)
    second_epochs = [(m[1], int(m[2]), int(m[3]), m[4]) for m in EPOCH_LINE.finditer(second)]
    # Every epoch trained once over both invocations, as in a run never interrupted (4 trials x 5 epochs),
    # give or take an epoch under way when the driver went (reported by neither).
    reported = len(first_epochs) + len(second_epochs)
    assert sum(len(t["history"]) for t in trials) == 20
    assert 19 <= reported <= 20, (first_epochs, second_epochs)
    cut, reached = running[0]
    later = [e[1] for e in second_epochs if e[0] == cut]
    # The cut trial went on after its kept epochs (none left to train if it kept its last before the kill).
    assert not later or min(later) > 1, (cut, reached, later)
    print(f"\nkilled after trials {sorted(set(ended))} ended and trial {cut} reported epoch {reached}; "
          f"epochs reported: {len(first_epochs)} before the kill + {len(second_epochs)} after = {reported} "
          f"(uninterrupted: 20); trial {cut} went on from epoch {min(later) if later else '- (all kept)'}")
