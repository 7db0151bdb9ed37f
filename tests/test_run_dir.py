"""The run directory keeps the last complete result until a new one is complete, and a
search is reused only for the data and settings it ran on."""

import json
import shutil

import numpy as np

from automl.run_dir import Recorder, data_fingerprint, prepare_search_dir


def test_a_failed_run_does_not_replace_the_last_complete_report(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"status": "succeeded"}))
    recorder = Recorder(tmp_path, {"status": "failed", "timings": {}})
    report_path, html_path = recorder.publish_incomplete()
    assert report_path.name == "report.partial.json" and html_path.name == "report.partial.html"
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "succeeded"


class _Killed(BaseException):
    """What a `kill -9` leaves: the files as they are at that instant, no cleanup run."""


def _result_of(root):
    """Which run each published piece belongs to."""
    return {"report": json.loads((root / "report.json").read_text())["fingerprint"],
            "html": (root / "report.html").read_text(), "export": (root / "export" / "metadata.json").read_text(),
            "zip": (root / "export.zip").read_text()}


def _with_staged_result(root, old, new):
    """A run directory holding complete result `old`, and result `new` staged for publication."""
    root.mkdir()
    (root / "report.json").write_text(json.dumps({"fingerprint": old}))
    (root / "report.html").write_text(old)
    (root / "export").mkdir()
    (root / "export" / "metadata.json").write_text(old)
    (root / "export.zip").write_text(old)
    (root / "report.partial.html").write_text(new)
    (root / "export.partial").mkdir()
    (root / "export.partial" / "metadata.json").write_text(new)
    (root / "export.partial.zip").write_text(new)
    recorder = Recorder(root, {"fingerprint": new, "status": "succeeded", "timings": {}})
    return recorder


def test_a_kill_at_any_step_of_publication_leaves_the_old_result_or_the_new_one(tmp_path, monkeypatch):
    """Every rename and removal of the publication is a place a kill can land; after it, the next
    command on the directory sees one whole result: all four pieces old, or all four new."""
    from pathlib import Path

    from automl.run_dir import finish_publication

    real = {"replace": Path.replace, "unlink": Path.unlink, "rmtree": shutil.rmtree}
    step = 0
    while True:
        root = tmp_path / f"run{step}"
        recorder = _with_staged_result(root, "old", "new")
        calls = [0]

        def counted(name):
            def act(*args, **kwargs):
                calls[0] += 1
                if calls[0] > step:
                    raise _Killed
                return real[name](*args, **kwargs)
            return act

        monkeypatch.setattr(Path, "replace", counted("replace"))
        monkeypatch.setattr(Path, "unlink", counted("unlink"))
        monkeypatch.setattr(shutil, "rmtree", counted("rmtree"))
        try:
            recorder.publish_complete()
            finished = True
        except _Killed:
            finished = False
        monkeypatch.undo()
        finish_publication(root)  # what the next run, export or predict does first
        seen = set(_result_of(root).values())
        assert len(seen) == 1, (step, _result_of(root))
        assert not [p.name for p in root.iterdir() if p.name.endswith(".old") or "partial" in p.name
                    or p.name == "publishing.json"] or seen == {"old"}, (step, sorted(p.name for p in root.iterdir()))
        if finished:
            assert seen == {"new"} and step > 4
            break
        step += 1


def test_data_fingerprint_follows_the_data(tmp_path, small_folder):
    before = data_fingerprint(str(small_folder))
    assert data_fingerprint(str(small_folder)) == before
    shutil.copy(next((small_folder / "Bag").glob("*.png")), small_folder / "Bag" / "extra.png")
    assert data_fingerprint(str(small_folder)) != before
    arrays = (np.zeros((4, 8, 8)), np.array(["a", "b", "a", "b"]))
    assert data_fingerprint(".", arrays) != data_fingerprint(".", (arrays[0] + 1, arrays[1]))


def test_a_search_of_other_data_is_moved_aside(tmp_path):
    prepare_search_dir(tmp_path, "aaa")
    (tmp_path / "search" / "trial.json").write_text("{}")
    prepare_search_dir(tmp_path, "aaa")
    assert (tmp_path / "search" / "trial.json").exists()
    prepare_search_dir(tmp_path, "bbb")
    assert not (tmp_path / "search" / "trial.json").exists()
    assert (tmp_path / "search.replaced" / "trial.json").exists()


def test_a_second_command_in_a_busy_run_directory_changes_nothing(tmp_path):
    """`automl run` and `automl export` into a run directory another command holds exit 1 with the
    holder's pid and host, having written nothing; a killed holder's lock is taken over."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from automl.run_lock import run_directory_lock

    run = tmp_path / "run"
    quickstart = Path(__file__).resolve().parents[1] / "pipelines" / "quickstart.yaml"
    with run_directory_lock(run, "run"):
        before = sorted(p.name for p in run.iterdir())
        for command in (["run", str(quickstart), "--out", str(run)], ["export", str(run)]):
            done = subprocess.run([sys.executable, "-m", "automl", *command], capture_output=True, text=True)
            assert done.returncode == 1, done.stderr
            assert f"is in use by automl run (pid {os.getpid()} on {socket.gethostname()}" in done.stderr, done.stderr
        assert sorted(p.name for p in run.iterdir()) == before == [".lock"]
    # A holder killed with SIGKILL cannot release anything: the operating system does.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom automl.run_lock import "
                               "run_directory_lock\nwith run_directory_lock(sys.argv[1], 'run'):\n"
                               "    print('held', flush=True); time.sleep(60)", str(run)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with run_directory_lock(run, "run"):
        assert f"pid {os.getpid()}" in (run / ".lock").read_text()


def test_a_full_disk_ends_the_run_with_one_line_and_a_consistent_report(tmp_path):
    """On a small tmpfs (mounted where the machine allows: root), a run that fills the disk exits 1
    with one line naming the folder, not a native crash, and its report says it failed."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    from automl.disk import MARGIN

    disk = tmp_path / "small_disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        # Ballast leaving the margin and 3 MB: the run starts, then runs out of room.
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "ballast").write_bytes(b"\0" * (free - MARGIN - 3 * 2**20))
        quickstart = Path(__file__).resolve().parents[1] / "pipelines" / "quickstart.yaml"
        done = subprocess.run([sys.executable, "-m", "automl", "run", str(quickstart), "--out", str(disk / "run")],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("[")]
        assert len(lines) == 1 and "free on its disk" in lines[0] and str(disk / "run") in lines[0], done.stderr
        report = json.loads((disk / "run" / "report.json").read_text())
        assert report["status"] == "failed" and "DiskFull" in report["error"]
    finally:
        subprocess.run(["umount", str(disk)], check=True)
