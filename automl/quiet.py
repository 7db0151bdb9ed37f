"""A quiet terminal: only automl's own lines, unless `--verbose`.

TensorFlow's C++ core logs through absl before absl is initialized, so its
lines reach stderr whatever `TF_CPP_MIN_LOG_LEVEL` says ("cuInit" errors on a
machine without a GPU, CPU feature notes). The only reliable filter is at the
file descriptor: stderr goes through a pipe, and a thread forwards every line
that is not a native library's log line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import warnings

#: Lines native libraries write to stderr on their own (absl, TensorFlow, LiteRT).
NATIVE_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"  # absl: I0000 00:00:1795354933.49 2583 file.cc:31]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "  # TensorFlow's own format
    r"|To enable the following instructions:"  # continues the CPU feature line
    r"|INFO: (Created|Initialized) TensorFlow Lite"
    r"|fully_quantize: \d"  # the TFLite converter's quantizer reports its settings
    r"|WARNING:(tensorflow|absl):)"
)


def is_native_log(line: str) -> bool:
    return bool(NATIVE_LOG_LINE.match(line))


def quiet_python_logging() -> None:
    """TensorFlow's and absl's Python loggers to errors only; library warnings off."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl", "keras_tuner", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


@contextlib.contextmanager
def python_logging_quieted():
    """`quiet_python_logging` for the block only: a notebook's own warnings and loggers come back
    as they were after `automl.fit`."""
    names = ("tensorflow", "absl", "keras_tuner", "h5py")
    levels = {name: logging.getLogger(name).level for name in names}
    with warnings.catch_warnings():
        quiet_python_logging()
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def filtered_stderr():
    """Drops native log lines from file descriptor 2 while the block runs."""
    try:
        original = os.dup(2)
    except OSError:  # no real stderr (embedded interpreters): nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    forward = threading.Thread(target=_forward, args=(read_end, original), daemon=True)
    forward.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the thread sees EOF
        forward.join(timeout=5)
        os.close(original)


def _forward(read_end: int, target: int) -> None:
    with os.fdopen(read_end, "rb") as pipe:
        for raw in pipe:
            if not is_native_log(raw.decode("utf-8", errors="replace")):
                os.write(target, raw)
