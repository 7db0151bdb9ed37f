"""A search spread over processes on one box: KerasTuner's chief/worker (gRPC), our oracle on the chief.

This path needs nothing beyond automl and suits one machine or a few started by hand; on a cluster,
`search.engine: ray` (`ray_search.py`) places trials by resources and lets Ray notice lost nodes,
where this path keeps leases and heartbeats of its own on an unauthenticated port.

`automl run FILE --chief` runs the pipeline as on one machine, except that its search serves the
oracle (`CrossFamilyOracle`, with leases) on `--listen` until every trial has ended, training none
itself; then it fine-tunes, exports, verifies and reports. `automl run FILE --worker
--chief-address HOST:PORT` loads the same data, selects the same families and trains the trials
the chief hands out, each under its own `tf.distribute` strategy, until the chief says the search
is over; the chief does the rest. Chief and workers share the run directory (trial checkpoints,
which promotions continue from): one machine, or a file system they all mount.

KerasTuner reads its role from the environment (`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP`,
`KERASTUNER_ORACLE_PORT`); the flags set it, and a worker started with those variables set by hand
works too.
"""

from __future__ import annotations

import os
import socket

from automl.errors import ConfigError
from automl.progress import say

#: Where a chief listens unless told otherwise: this machine only.
DEFAULT_LISTEN = "127.0.0.1:8470"


def _host_port(value: str, flag: str) -> tuple[str, str]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{flag} {value!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, port


def serve_as_chief(listen: str | None) -> None:
    """Makes this process the search's chief, listening on `listen` (HOST:PORT)."""
    host, port = _host_port(listen or DEFAULT_LISTEN, "--listen")
    _refuse_a_port_in_use(host, int(port))
    os.environ.update(KERASTUNER_TUNER_ID="chief", KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port)
    scope = "this machine only" if host in ("127.0.0.1", "localhost", "::1") else "every host that can reach it"
    say("search", f"chief: the oracle listens on {host}:{port} ({scope}); the port is unauthenticated: "
                  f"whoever reaches it can read and steer the search")


def _refuse_a_port_in_use(host: str, port: int) -> None:
    """gRPC binds with SO_REUSEPORT, so a second chief on a port in use would share it and the two
    runs' workers would mix: a plain bind finds the port taken first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError as err:
            raise ConfigError(f"--listen {host}:{port}: cannot listen there ({err.strerror}): another chief or "
                              f"program holds the port; choose another, e.g. --listen {host}:{port + 1}") from None


#: How long a worker waits for any sign of its chief (its port, or its hold on the run directory).
CHIEF_SILENCE_SECONDS = 60.0


def chief_address() -> tuple[str, int]:
    return os.environ["KERASTUNER_ORACLE_IP"], int(os.environ["KERASTUNER_ORACLE_PORT"])


def chief_problem() -> str | None:
    """None when something takes a connection at the chief's address, else why not."""
    try:
        socket.create_connection(chief_address(), timeout=5).close()
        return None
    except OSError as err:
        return err.strerror or str(err)


def reach_chief(seconds: float = CHIEF_SILENCE_SECONDS) -> None:
    """Waits until the chief's port takes a connection; fails after `seconds`, naming the address
    (KerasTuner itself would wait an hour in silence)."""
    import time

    host, port = chief_address()
    deadline, problem = time.time() + seconds, "no answer"
    while time.time() < deadline:
        problem = chief_problem()
        if problem is None:
            return
        time.sleep(1)
    raise ConfigError(f"--chief-address {host}:{port}: no chief answers there after {seconds:.0f} s ({problem}); "
                      f"start it with automl run FILE --chief --listen {host}:{port}, or fix the address")


def work_for_chief(address: str | None, worker_id: str | None) -> str:
    """Makes this process a worker of the chief at `address` (or KerasTuner's variables); its id."""
    if address:
        host, port = _host_port(address, "--chief-address")
        os.environ.update(KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port)
    elif not os.environ.get("KERASTUNER_ORACLE_IP") or not os.environ.get("KERASTUNER_ORACLE_PORT"):
        raise ConfigError("--worker needs --chief-address HOST:PORT (or KERASTUNER_ORACLE_IP and "
                          "KERASTUNER_ORACLE_PORT)")
    worker_id = worker_id or os.environ.get("KERASTUNER_TUNER_ID") or f"worker-{socket.gethostname()}-{os.getpid()}"
    if "chief" in worker_id:
        raise ConfigError(f"--worker-id {worker_id!r}: KerasTuner takes an id containing 'chief' for the chief")
    os.environ["KERASTUNER_TUNER_ID"] = worker_id
    return worker_id


def role() -> str | None:
    """'chief', 'worker' or None (a search on one machine), as KerasTuner reads it."""
    if not os.environ.get("KERASTUNER_ORACLE_IP"):
        return None
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def require_ray(engine: str, address: str | None = "auto") -> None:
    """`search.engine: ray` without Ray installed, or with a cluster address where nothing answers:
    one line before any work (Ray itself would wait minutes for its GCS, printing native log lines)."""
    if engine != "ray":
        return
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise ConfigError("search.engine: ray needs Ray, the optional extra: pip install 'automl[ray]'")
    key = "search.ray.address"
    if address == "auto" and os.environ.get("RAY_ADDRESS"):
        address, key = os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    if address in (None, "auto", "local"):
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{key} {address!r}: expected HOST:PORT (the head's GCS, e.g. 10.0.0.5:6379), "
                          f"ray://HOST:10001, auto or local")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise ConfigError(f"{key} {address!r}: nothing answers there ({err.strerror or err}); start the head "
                          f"with `ray start --head --port {port}`, or give the address it printed") from None
