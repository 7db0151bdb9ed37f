"""A chief and its workers fail fast, with the address, where KerasTuner would wait or mix runs."""

import socket
import time

import pytest

from automl.distributed import reach_chief, serve_as_chief
from automl.errors import ConfigError


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_chief_refuses_a_port_another_program_listens_on(monkeypatch):
    monkeypatch.delenv("KERASTUNER_ORACLE_IP", raising=False)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ConfigError, match=f"--listen 127.0.0.1:{port}: cannot listen there"):
            serve_as_chief(f"127.0.0.1:{port}")


def test_a_worker_whose_chief_is_absent_fails_naming_the_address(monkeypatch):
    port = _free_port()
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(port))
    started = time.time()
    with pytest.raises(ConfigError, match=f"127.0.0.1:{port}: no chief answers there after 2 s"):
        reach_chief(seconds=2)
    assert time.time() - started < 10
    with socket.socket() as chief:  # and one that listens is reached at once
        chief.bind(("127.0.0.1", port))
        chief.listen()
        reach_chief(seconds=2)


def test_a_second_worker_with_a_taken_id_is_refused_with_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    quickstart = Path(__file__).resolve().parents[2] / "pipelines" / "quickstart.yaml"
    out, address = tmp_path / "run", f"127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "automl", "run", str(quickstart), "--out", str(out), "--worker",
               "--chief-address", address, "--worker-id", "w0"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = out / "workers" / "w0" / ".lock"
        deadline = time.time() + 60
        while time.time() < deadline and f"pid {first.pid}" not in (lock.read_text() if lock.exists() else ""):
            time.sleep(0.2)
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1, second.stderr
        lines = [line for line in second.stderr.splitlines() if line.strip() and not line.startswith("[")]
        assert len(lines) == 1 and "--worker-id 'w0' is taken by another worker" in lines[0], second.stderr
        assert f"pid {first.pid}" in lines[0]
    finally:
        first.kill()
        first.wait()


def test_a_worker_started_without_its_chief_says_so_instead_of_waiting(tmp_path, monkeypatch):
    """Nothing listens at the address and no chief holds the run directory: the worker says it is
    waiting, then fails naming both (after CHIEF_SILENCE_SECONDS, a minute; 2 s here). A chief
    that holds the run directory while it loads its data is waited for."""
    from pathlib import Path

    import automl.distributed
    from automl.config.loader import load_config
    from automl.pipeline import run_worker
    from automl.run_lock import run_directory_lock

    quickstart = Path(__file__).resolve().parents[2] / "pipelines" / "quickstart.yaml"
    config = load_config(quickstart, ["search.max_trials=1"])
    port = _free_port()
    monkeypatch.setattr(automl.distributed, "CHIEF_SILENCE_SECONDS", 2.0)
    for name, value in (("KERASTUNER_ORACLE_IP", "127.0.0.1"), ("KERASTUNER_ORACLE_PORT", str(port)),
                        ("KERASTUNER_TUNER_ID", "w1")):
        monkeypatch.setenv(name, value)  # what `automl run --worker --chief-address` sets
    out = tmp_path / "run"
    started = time.time()
    with pytest.raises(ConfigError, match=f"--chief-address 127.0.0.1:{port}: no chief answers there or holds {out}"):
        run_worker(config, out_dir=out, wait_seconds=600)
    assert time.time() - started < 60
    # A chief still loading its data holds the run directory: the worker keeps waiting for it.
    with run_directory_lock(out, "run --chief"):
        with pytest.raises(ConfigError, match="no search in .* after 0m08s"):
            run_worker(config, out_dir=out, wait_seconds=8)
