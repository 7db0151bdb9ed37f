"""One automl command at a time per run directory: an OS file lock held for the command's life.

The lock file (`.lock` in the run directory) names its holder (command, pid, host, start time) for
the message a second command prints. The operating system drops the lock when its holder exits,
however it exits, so the lock of a killed run is taken over by the next one. A chief's tuner
workers share its run directory and do not take the lock.
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from automl.errors import RunDirectoryBusy

LOCK = ".lock"


@contextmanager
def run_directory_lock(run_dir: Path, command: str, create: bool = True, busy: str = ""):
    """Holds the lock of `run_dir` while the block runs (a missing folder is made when `create`, else
    left for the command to report); raises `RunDirectoryBusy`, having changed nothing, when
    another command holds it (`busy`: what to say first instead of "RUN_DIR is in use")."""
    run_dir = Path(run_dir)
    if create:
        run_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks through fcntl; run unlocked
        fcntl = None
    if fcntl is None or not run_dir.is_dir():
        yield
        return
    handle = open(run_dir / LOCK, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another automl command"
            if busy:
                raise RunDirectoryBusy(f"{busy}: {holder}") from None
            raise RunDirectoryBusy(f"{run_dir} is in use by {holder}; nothing was changed. Wait for it to end, "
                                   f"or give this one another run directory (--out)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"automl {command} (pid {os.getpid()} on {socket.gethostname()}, "
                     f"since {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing drops the lock


def is_held(run_dir: Path) -> bool:
    """Whether a live command holds `run_dir`'s lock (False where locks are not kept)."""
    try:
        import fcntl
    except ImportError:
        return False
    path = Path(run_dir) / LOCK
    if not path.is_file():
        return False
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False
